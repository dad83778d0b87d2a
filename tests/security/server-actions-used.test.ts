/**
 * Every exported server action is a public endpoint (Next.js routes a POST to it by id), so a
 * "use server" module exports only actions the portal's own pages call: an unused one is removed,
 * not left reachable (issue 14: `loadOfflineStatus`).
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = process.cwd();
const sources = (dir: string) =>
  readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));

describe("server actions", () => {
  const all = [...sources("app"), ...sources("components"), ...sources("lib")];
  const actionFiles = all.filter((f) => /^\s*["']use server["'];?/.test(readFileSync(path.join(ROOT, f), "utf8")));
  it("there are server action modules to check", () => expect(actionFiles.length).toBeGreaterThan(0));
  it.each(actionFiles)("%s exports only actions the portal calls", (file) => {
    const src = readFileSync(path.join(ROOT, file), "utf8");
    const exported = [...src.matchAll(/^export (?:async )?function (\w+)/gm)].map((m) => m[1]!);
    const others = all.filter((f) => f !== file).map((f) => readFileSync(path.join(ROOT, f), "utf8"));
    const unused = exported.filter((name) => !others.some((o) => new RegExp(`\\b${name}\\b`).test(o)));
    expect(unused).toEqual([]);
  });
});
