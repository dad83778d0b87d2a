/**
 * A private PostgreSQL cluster on a free loopback port (Debian's postgresql package), started by
 * the test and stopped afterwards.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./ports";
import { waitFor } from "./wait";

export function postgresBinDir(): string {
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(path.join(base, v, "bin", "initdb"))) return path.join(base, v, "bin");
  throw new Error("PostgreSQL is not installed: install Debian's package `postgresql` (apt-get install postgresql)");
}

export interface PgCluster {
  port: number;
  url(database: string): string;
  createDatabase(name: string): void;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<PgCluster> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(path.join(tmpdir(), "herald-pg-"));
  const data = path.join(dir, "data");
  const port = await freePort();
  // initdb refuses to run as root: run the cluster as the postgres system user when we are root
  const asUser = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  if (asUser.length) execFileSync("chown", ["postgres:postgres", dir]);
  const run = (cmd: string, args: string[]) =>
    execFileSync(asUser.length ? asUser[0] : cmd, asUser.length ? [...asUser.slice(1), cmd, ...args] : args, { stdio: "pipe" });
  const pwFile = path.join(dir, "pw");
  writeFileSync(pwFile, "herald\n");
  if (asUser.length) execFileSync("chown", ["postgres:postgres", pwFile]);
  run(path.join(bin, "initdb"), ["-D", data, "-U", "herald", "--pwfile", pwFile, "-A", "md5", "--no-sync"]);
  const proc = spawn(
    asUser.length ? asUser[0] : path.join(bin, "postgres"),
    [
      ...(asUser.length ? [...asUser.slice(1), path.join(bin, "postgres")] : []),
      "-D", data, "-c", "listen_addresses=127.0.0.1", "-c", `port=${port}`, "-c", `unix_socket_directories=${dir}`,
      "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  proc.stderr.on("data", (d) => (log += d));
  const psql = (sql: string, db = "postgres") =>
    execFileSync("psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "herald", "-d", db, "-v", "ON_ERROR_STOP=1", "-qc", sql], {
      env: { ...process.env, PGPASSWORD: "herald" },
      stdio: "pipe",
    });
  await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`postgres exited: ${log}`);
    psql("select 1");
    return true;
  }, { timeoutMs: 30_000, intervalMs: 100, what: "postgres to accept connections" });
  return {
    port,
    url: (database) => `postgresql://herald:herald@127.0.0.1:${port}/${database}`,
    createDatabase: (name) => void psql(`CREATE DATABASE "${name}"`),
    async stop() {
      // signal the postmaster itself (runuser does not forward signals): fast shutdown
      try {
        const pid = Number(readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
        process.kill(pid, "SIGINT");
      } catch {
        proc.kill("SIGINT");
      }
      await waitFor(() => proc.exitCode !== null || proc.signalCode !== null, { timeoutMs: 20_000, what: "postgres to stop" }).catch(() => proc.kill("SIGKILL"));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
