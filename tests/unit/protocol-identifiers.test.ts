/** Each protocol identifier is defined once (lib/presence/namespaces.ts) and the protocol layers import one way. */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONTENT_TYPES, NS } from "../../lib/presence/namespaces";

const ROOT = process.cwd();
function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
    .filter((f) => !f.startsWith("lib/generated"));
}
/** Source without comments (so a doc comment may still name a namespace). */
const code = (f: string) => readFileSync(path.join(ROOT, f), "utf8").replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, "");

describe("protocol identifiers", () => {
  const files = [...sources("lib"), ...sources("app"), ...sources("components")].filter((f) => f !== "lib/presence/namespaces.ts");
  it.each([...Object.values(NS), ...Object.values(CONTENT_TYPES)])("%s is written only in lib/presence/namespaces.ts", (id) => {
    const quoted = new RegExp(`["'\`]${id.replace(/[.+]/g, "\\$&")}["'\`]`);
    expect(files.filter((f) => quoted.test(code(f)))).toEqual([]);
  });
});

describe("protocol layers import one way: lib/sip ← lib/presence ← lib/xcap", () => {
  const imports = (f: string) => [...code(f).matchAll(/\bfrom\s+["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => path.join(path.dirname(f), m[1] ?? m[2]!));
  const layerOf = (p: string) => /^lib\/(sip|presence|xcap|xml)(\/|$)/.exec(p)?.[1] ?? (p.startsWith("lib/") ? "above" : p);
  const allowed: Record<string, string[]> = { sip: ["sip"], presence: ["presence", "xml", "sip"], xcap: ["xcap", "presence", "xml", "sip"] };
  it.each(["sip", "presence", "xcap"])("lib/%s imports only the layers below it", (layer) => {
    const bad = sources(`lib/${layer}`).flatMap((f) => imports(f).filter((p) => p.startsWith("lib/") && !allowed[layer]!.includes(layerOf(p))).map((p) => `${f} → ${p}`));
    expect(bad).toEqual([]);
  });
  it("lib/presence takes from lib/sip only the browser-safe AOR normaliser", () => {
    const fromSip = sources("lib/presence").flatMap((f) => imports(f).filter((p) => layerOf(p) === "sip"));
    expect(new Set(fromSip)).toEqual(new Set(["lib/sip/aor"]));
  });
});
