/**
 * Server modules of the portal carry `import "server-only"` (a client component importing one fails
 * the build), client components take server types only from lib/portal/wire-types.ts (which
 * imports nothing), and lib/portal and lib/accounts do not import each other in a cycle.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = process.cwd();
const read = (f: string) => readFileSync(path.join(ROOT, f), "utf8");
const sources = (dir: string) =>
  readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
const importsOf = (f: string) => [...read(f).matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']/gm)].map((m) => m[1] ?? m[2]!);

describe("server-only boundary", () => {
  it.each(["lib/portal/action-result.ts", "lib/portal/presence-documents.ts", "lib/portal/session.ts", "lib/portal/sip-credentials.ts"])(
    "%s is marked server-only",
    (f) => expect(importsOf(f)).toContain("server-only"),
  );
  it("wire-types imports nothing", () => expect(importsOf("lib/portal/wire-types.ts")).toEqual([]));
  it("client components import no server-only module", () => {
    const marked = sources("lib").filter((f) => importsOf(f).includes("server-only")).map((f) => `@/${f.replace(/\.tsx?$/, "")}`);
    const clients = [...sources("components"), ...sources("app")].filter((f) => /^\s*["']use client["']/.test(read(f)));
    expect(clients.length).toBeGreaterThan(3);
    const bad = clients.flatMap((f) => importsOf(f).filter((i) => marked.includes(i)).map((i) => `${f} → ${i}`));
    expect(bad).toEqual([]);
  });
  it("no module `herald start` loads under plain Node is server-only (its package throws outside React Server Components)", () => {
    // lib/portal/auth.ts and lib/portal/xcap.ts serve the portal and the custom server alike
    const reach = new Set<string>();
    const resolve = (from: string, spec: string): string | undefined => {
      const base = spec.startsWith("@/") ? spec.slice(2) : spec.startsWith(".") ? path.join(path.dirname(from), spec) : undefined;
      if (base === undefined) return undefined;
      return [`${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")].find((c) => existsSync(path.join(ROOT, c)));
    };
    const stack = ["lib/cli/main.ts"];
    while (stack.length > 0) {
      const f = stack.pop()!;
      if (reach.has(f)) continue;
      reach.add(f);
      for (const m of read(f).matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm)) {
        const r = resolve(f, m[1] ?? m[2] ?? m[3]!);
        if (r) stack.push(r);
      }
    }
    expect(reach.size).toBeGreaterThan(50);
    expect([...reach].filter((f) => importsOf(f).includes("server-only"))).toEqual([]);
  });
  it("lib/accounts does not import lib/portal (lib/portal is above it)", () => {
    const bad = sources("lib/accounts").flatMap((f) => importsOf(f).filter((i) => i.includes("/portal")).map((i) => `${f} → ${i}`));
    expect(bad).toEqual([]);
  });
  it("there is no lib/auth.ts beside lib/portal (the portal's login lives in lib/portal/auth.ts)", () => {
    expect(sources("lib").filter((f) => f === "lib/auth.ts")).toEqual([]);
  });
});
