import js from "@eslint/js";
import tseslint from "typescript-eslint";

const framework = { group: ["next", "next/*", "react", "react/*", "react-dom", "@prisma/*", "**/generated/*", "**/db", "**/app/*", "**/components/*"], message: "protocol code (lib/sip, lib/presence, lib/xcap, lib/im) stays framework-free" };
const frameworkImports = { patterns: [framework] };
// the protocol layers import one way: lib/sip ← lib/presence ← lib/xcap (and nothing above them)
const above = ["../server", "../server/*", "../client", "../client/*", "../bridge", "../bridge/*", "../portal", "../portal/*", "../accounts", "../accounts/*"];
const sipImports = { patterns: [framework, { group: ["../presence", "../presence/*", "../xcap", "../xcap/*", ...above], message: "lib/sip is the lowest protocol layer: it imports no other part of lib" }] };
const presenceImports = { patterns: [framework, { group: ["../xcap", "../xcap/*", ...above], message: "lib/presence imports only lib/sip/aor and lib/xml below it (lib/xcap builds on lib/presence)" }] };

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
  { files: ["lib/sip/**"], rules: { "no-restricted-imports": ["error", sipImports] } },
  { files: ["lib/presence/**"], rules: { "no-restricted-imports": ["error", presenceImports] } },
  {
    files: ["lib/**"],
    ignores: ["lib/cli/**"],
    rules: { "no-console": "error" },
  },
);
