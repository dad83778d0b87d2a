/**
 * `npm test`: installs the Debian packages the tests need when any is missing (tests/debian-packages.ts;
 * nothing to do, and no root needed, when all are there), then typecheck, lint and every vitest
 * project (unit, integration + interop, e2e). Prints a closing line `N passed, N failed` for the whole
 * run (typecheck and lint count as one test each, a failed install as one failure) and exits
 * non-zero when anything failed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { ensureDebianPackages } from "./debian-packages";

const ROOT = path.resolve(import.meta.dirname, "..");
const bin = (name: string) => path.join(ROOT, "node_modules", ".bin", name);
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };
const extra = process.argv.slice(2);

let passed = 0;
let failed = 0;

function step(name: string, cmd: string, args: string[]) {
  process.stdout.write(`\n== ${name}: ${path.basename(cmd)} ${args.join(" ")}\n`);
  const r = spawnSync(cmd, args, { cwd: ROOT, env, stdio: "inherit" });
  return r.status === 0;
}

process.stdout.write("\n== Debian packages\n");
const deps = ensureDebianPackages();
process.stdout.write(`${deps.message}\n`);
if (!deps.ok) failed++; // the tests still run: each names the tool it misses

if (!extra.length) {
  for (const [name, cmd, args] of [
    ["typecheck", bin("tsc"), ["--noEmit"]],
    ["lint", bin("eslint"), ["--max-warnings=0", "."]],
  ] as const) {
    if (step(name, cmd, [...args])) passed++;
    else {
      failed++;
      process.stdout.write(`${name} FAILED\n`);
    }
  }
}

const resultsDir = path.join(ROOT, "test-results");
mkdirSync(resultsDir, { recursive: true });
const report = path.join(resultsDir, "vitest.json");
rmSync(report, { force: true });
const ok = step("tests", bin("vitest"), ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...extra]);
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, "utf8")) as {
    numPassedTests: number;
    numFailedTests: number;
    testResults: { status: string; message?: string; name: string }[];
  };
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  // a file that failed to load (or a failed hook) has no failed test: count it once
  for (const f of r.testResults) {
    if (f.status === "failed" && f.message) {
      failed++;
      process.stdout.write(`failed to run: ${path.relative(ROOT, f.name)}: ${f.message.split("\n")[0]}\n`);
    }
  }
  if (!ok && r.numFailedTests === 0 && !r.testResults.some((f) => f.status === "failed")) failed++;
} else {
  failed++;
  process.stdout.write("vitest produced no report\n");
}

process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
