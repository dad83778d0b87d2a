/**
 * Starts the whole system for the e2e tests: a fresh build, a fresh SQLite database with the demo
 * accounts, and `herald start` as a child process on free ports. Stopped afterwards.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { openMigrated } from "../helpers/temp-db";
import { seedDemo } from "../../lib/cli/seed";
import { CHROMIUM_PATH } from "./browser";
import { freePort } from "../helpers/ports";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    users: Record<string, { address: string; password: string }>;
    sipPort: number;
    dataDir: string;
  }
}

const ROOT = path.resolve(import.meta.dirname, "..", "..");

export default async function setup(project: TestProject) {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is missing at ${CHROMIUM_PATH}: install Debian's package "chromium" (apt-get install chromium)`);
  }
  const build = spawnSync(process.execPath, [path.join(ROOT, "node_modules/next/dist/bin/next"), "build"], {
    cwd: ROOT,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    encoding: "utf8",
  });
  if (build.status !== 0) throw new Error(`next build failed:\n${build.stdout}\n${build.stderr}`);

  const dataDir = mkdtempSync(path.join(tmpdir(), "herald-e2e-"));
  const url = `file:${path.join(dataDir, "herald.db")}`;
  const t = await openMigrated(url, dataDir);
  const seeded = await seedDemo(t.db);
  await t.db.$disconnect();
  const users: Record<string, { address: string; password: string }> = {};
  for (const s of seeded) users[s.address.split("@")[0]] = { address: s.address, password: s.password };

  const sipPort = await freePort();
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "lib/cli/main.ts"), "start"], {
    cwd: ROOT,
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
      LOGIN_MAX_ATTEMPTS_ACCOUNT: "50",
      LOGIN_MAX_ATTEMPTS_ADDRESS: "500",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Herald did not start within 90 s:\n${output}`)), 90_000);
    const onData = (d: Buffer) => {
      output += d.toString();
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
  project.provide("baseUrl", baseUrl);
  project.provide("users", users);
  project.provide("sipPort", sipPort);
  project.provide("dataDir", dataDir);

  return async () => {
    child.kill("SIGTERM");
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
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
  };
}
