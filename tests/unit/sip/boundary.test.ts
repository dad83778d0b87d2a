/** lib/sip is framework-free: it imports only node: built-ins and its own files (CONVENTIONS, protocol code). */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const dir = join(process.cwd(), "lib/sip");
const IMPORT_RE = /^(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["'];|^import\s+["']([^"']+)["'];|\bimport\(\s*["']([^"']+)["']\s*\)|\brequire\(\s*["']([^"']+)["']\s*\)/gm;

describe("lib/sip import boundary", () => {
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
  it.each(files)("%s imports only node: built-ins and ./siblings, and never uses console", (file) => {
    const src = readFileSync(join(dir, file), "utf8");
    const specs = [...src.matchAll(IMPORT_RE)];
    if (file === "message.ts" || file === "transport.ts") expect(specs.length, "import scanner works").toBeGreaterThan(5);
    for (const m of specs) {
      const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
      expect(spec.startsWith("node:") || /^\.\/[a-z0-9-]+$/.test(spec), `${file}: ${spec}`).toBe(true);
    }
    expect(src).not.toMatch(/\bconsole\./);
    expect(src).not.toMatch(/process\.env/);
  });
});
