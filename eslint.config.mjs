import js from "@eslint/js";
import tseslint from "typescript-eslint";

const frameworkImports = {
  patterns: [
    { group: ["next", "next/*", "react", "react/*", "react-dom", "@prisma/*", "**/generated/*", "**/db", "**/app/*", "**/components/*"], message: "protocol code (lib/sip, lib/presence, lib/xcap, lib/im) stays framework-free" },
  ],
};

export default tseslint.config(
  { ignores: ["node_modules/", ".next/", "lib/generated/", "test-results/", "data/", "next-env.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "@typescript-eslint/no-explicit-any": "error",
    },
  },
  {
    files: ["lib/sip/**", "lib/presence/**", "lib/xcap/**", "lib/im/**"],
    rules: {
      "no-restricted-imports": ["error", frameworkImports],
      "no-console": "error",
    },
  },
  {
    files: ["lib/**"],
    ignores: ["lib/cli/**"],
    rules: { "no-console": "error" },
  },
);
