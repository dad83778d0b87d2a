/** Helpers for the e2e tests: axe scans, keyboard walks, a tiny PNG, the operator CLI. */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { crc32, deflateSync } from "node:zlib";
import { expect } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { screenshot } from "./browser";

const require = createRequire(import.meta.url);
export const AXE_PATH = require.resolve("axe-core/axe.min.js");

export interface AxeViolation {
  id: string;
  impact: "minor" | "moderate" | "serious" | "critical" | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** Run axe-core on the page; returns the serious and critical violations (empty = pass). */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: AXE_PATH });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

export function describeViolations(vs: AxeViolation[]): string {
  return vs.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.map((n) => `${n.target.join(" ")} — ${n.failureSummary ?? ""}`).join("\n  ")}`).join("\n");
}

/**
 * Press Tab from the top of the page until the focused element matches, at most `max` times.
 * Returns the number of Tab presses, or -1 when it was never reached.
 */
export async function tabUntil(page: Page, matches: (el: { tag: string; name: string; testId: string | null; label: string | null }) => boolean, max = 80): Promise<number> {
  // a click on empty space at the top left moves the sequential-focus starting point there
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.click(1, 1);
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press("Tab");
    const el = await page.evaluate(() => {
      const a = document.activeElement as HTMLElement | null;
      if (!a) return null;
      const labelled = a.id ? document.querySelector(`label[for="${CSS.escape(a.id)}"]`)?.textContent?.trim() ?? null : null;
      return { tag: a.tagName.toLowerCase(), name: (a.getAttribute("aria-label") ?? a.textContent ?? "").trim(), testId: a.getAttribute("data-testid"), label: labelled };
    });
    if (el && matches(el)) return i;
  }
  return -1;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** A valid width×height RGB PNG of one colour. */
export function tinyPng(width = 8, height = 8, rgb: [number, number, number] = [37, 99, 235]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => rgb).flat())]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

const ROOT = path.resolve(import.meta.dirname, "..", "..");

/** `npm run herald -- …args` on the e2e system's database (`dataDir`): another process, as an operator runs it. */
export function heraldCli(dataDir: string, ...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "lib/cli/main.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: `file:${path.join(dataDir, "herald.db")}`, HERALD_DATA_DIR: dataDir },
    encoding: "utf8",
  });
}

/**
 * Console screens (paths below `baseUrl`, signed in with `state`) at 390 and 1280 px, light and
 * dark: no serious axe violation, nothing wider than the viewport (tables scroll in their card),
 * and a screenshot of each.
 */
export async function expectConsoleScreensClean(browser: Browser, state: Awaited<ReturnType<BrowserContext["storageState"]>>, baseUrl: string, screens: string[]) {
  for (const scheme of ["light", "dark"] as const) {
    for (const width of [390, 1280]) {
      const ctx = await browser.newContext({ storageState: state, viewport: { width, height: 900 }, colorScheme: scheme });
      try {
        const p = await ctx.newPage();
        for (const s of screens) {
          await p.goto(`${baseUrl}${s}`);
          await p.getByRole("navigation", { name: "Console" }).waitFor();
          const violations = await seriousAxeViolations(p);
          expect(violations, `${s} ${width}px ${scheme}: ${describeViolations(violations)}`).toEqual([]);
          const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          expect(overflow, `${s} ${width}px: page scrolls sideways`).toBeLessThanOrEqual(0);
          await screenshot(p, `admin${s.replace(/[^a-z0-9]+/gi, "-")}-${width}-${scheme}`);
        }
      } finally {
        await ctx.close();
      }
    }
  }
}
