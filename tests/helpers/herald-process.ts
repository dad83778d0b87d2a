/** Run `herald start` as a child process on free ports with a fresh database, for e2e tests. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openMigrated } from "./temp-db";
import { freePort } from "./ports";
import type { Db } from "../../lib/db";

export const ROOT = path.resolve(import.meta.dirname, "..", "..");

/** Files whose content decides the build: everything tracked or new except tests and docs. */
function buildInputsHash(): string {
  const listed = spawnSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: ROOT, encoding: "utf8" });
  if (listed.status !== 0) return `unhashable-${Date.now()}`;
  const hash = createHash("sha256");
  for (const file of listed.stdout.split("\0").filter((f) => f && !/^(tests|docs)\/|\.md$/.test(f)).sort()) {
    hash.update(file).update("\0");
    if (existsSync(path.join(ROOT, file))) hash.update(readFileSync(path.join(ROOT, file)));
  }
  return hash.digest("hex");
}

/**
 * `next build`, skipped when `.next` holds a build of exactly the current sources (a stamp of their
 * hash, written after a successful build). HERALD_FORCE_BUILD=1 always builds.
 */
export function buildPortal(): void {
  const stamp = path.join(ROOT, ".next", "herald-build-inputs");
  const inputs = buildInputsHash();
  if (process.env.HERALD_FORCE_BUILD !== "1" && existsSync(path.join(ROOT, ".next", "BUILD_ID")) && existsSync(stamp) && readFileSync(stamp, "utf8") === inputs) return;
  rmSync(stamp, { force: true });
  const build = spawnSync(process.execPath, [path.join(ROOT, "node_modules/next/dist/bin/next"), "build"], {
    cwd: ROOT,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    encoding: "utf8",
  });
  if (build.status !== 0) throw new Error(`next build failed:\n${build.stdout}\n${build.stderr}`);
  writeFileSync(stamp, inputs);
}

export interface HeraldProcess {
  baseUrl: string;
  sipPort: number;
  dataDir: string;
  /** The child's process id (the bench reads /proc/<pid>/status and /proc/<pid>/stat). */
  pid: number;
  output(): string;
  /** SIGTERM (SIGKILL after 10 s), then remove the data directory. */
  stop(): Promise<void>;
  /** Send `signal` and wait for the process to exit; the data directory stays (restart with `startHerald({ dataDir, sipPort })`). */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Start Herald with a fresh SQLite database seeded by `seed`, extra environment `env` — or, with
 * `dataDir` (and `sipPort`), again on the data of an earlier run (a restart). Resolves once the
 * portal listens.
 */
export async function startHerald(opts: {
  seed?: (db: Db) => Promise<void>;
  env?: Record<string, string>;
  dataDir?: string;
  sipPort?: number;
  /** Another database (a PostgreSQL URL), migrated and seeded here unless `dataDir` is given. Default SQLite in the data directory. */
  databaseUrl?: string;
  /** Extra node options before the script (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Another checkout to run (built, with its node_modules), e.g. an earlier commit for a before/after benchmark. Default this one. */
  root?: string;
  /** How long the portal may take to listen (a restart restoring much state), ms. Default 90 s. */
  startTimeoutMs?: number;
  /** Append everything the process writes (stdout and stderr) to this file too (the in-memory copy is cut at 2 MB). */
  logFile?: string;
}): Promise<HeraldProcess> {
  const root = opts.root ?? ROOT;
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), "herald-e2e-"));
  const url = opts.databaseUrl ?? `file:${path.join(dataDir, "herald.db")}`;
  if (!opts.dataDir) {
    const t = await openMigrated(url, dataDir);
    await opts.seed?.(t.db);
    await t.db.$disconnect();
  }
  const sipPort = opts.sipPort ?? (await freePort());
  const child: ChildProcess = spawn(process.execPath, [...(opts.nodeArgs ?? []), "--import", "tsx", path.join(root, "lib/cli/main.ts"), "start"], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      DATABASE_URL: url,
      HERALD_DATA_DIR: dataDir,
      HOST: "127.0.0.1",
      PORT: "0",
      SIP_HOST: "127.0.0.1",
      SIP_PORT: String(sipPort),
      AUTH_FAILURES_PER_ACCOUNT_ADDRESS: "50",
      AUTH_FAILURES_PER_ADDRESS: "500",
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const limit = opts.startTimeoutMs ?? 90_000;
    const timer = setTimeout(() => reject(new Error(`Herald did not start within ${limit / 1000} s:\n${output}`)), limit);
    const onData = (d: Buffer) => {
      if (opts.logFile) appendFileSync(opts.logFile, d);
      output += d.toString();
      if (output.length > 2_000_000) output = output.slice(-1_000_000);
      const m = /portal listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace("localhost", "127.0.0.1"));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Herald exited with ${code}:\n${output}`));
    });
  });
  return {
    baseUrl,
    sipPort,
    dataDir,
    pid: child.pid!,
    output: () => output,
    async stop() {
      child.kill("SIGTERM");
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t2 = setTimeout(() => {
          child.kill("SIGKILL");
          resolve();
        }, 10_000);
        child.once("exit", () => {
          clearTimeout(t2);
          resolve();
        });
      });
      rmSync(dataDir, { recursive: true, force: true });
    },
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill(signal);
      await exited;
    },
  };
}
