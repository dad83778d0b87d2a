/**
 * Server modules of the portal carry `import "server-only"` (a client component importing one fails
 * the build), client components take server types only from lib/portal/wire-types.ts (which
 * imports nothing), and lib/portal and lib/accounts do not import each other in a cycle.
 */
import { readFileSync, readdirSync } from "node:fs";
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
  it.each(["lib/portal/auth.ts", "lib/portal/action-result.ts", "lib/portal/presence-documents.ts", "lib/portal/session.ts", "lib/portal/sip-credentials.ts", "lib/portal/xcap.ts"])(
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
  it("lib/accounts does not import lib/portal (lib/portal is above it)", () => {
    const bad = sources("lib/accounts").flatMap((f) => importsOf(f).filter((i) => i.includes("/portal")).map((i) => `${f} → ${i}`));
    expect(bad).toEqual([]);
  });
  it("there is no lib/auth.ts beside lib/portal (the portal's login lives in lib/portal/auth.ts)", () => {
    expect(sources("lib").filter((f) => f === "lib/auth.ts")).toEqual([]);
  });
});
