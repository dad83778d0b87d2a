/**
 * Child process for tests/bench/presence.ts: Herald's embedded presence server (PresenceServer,
 * MemoryAccountDirectory, MemoryXcapStore) on 127.0.0.1, in its own process so the load generator
 * does not share its event loop or heap (Kamailio runs in its own processes too).
 *   node --expose-gc --import tsx tests/bench/presence-herald-server.ts --domain bench.test \
 *        --users 12000 --password bench-password [--notify-interval-ms 0]
 * Prints one JSON line `{ "port": …, "pid": … }` when listening. IPC requests (process.send):
 *   { id, op: "allow", presentities }   pres-rules "allow everyone in the domain" for each presentity
 *   { id, op: "memory" }                after a full GC: heap/external/arrayBuffers and VmRSS of this process
 *   { id, op: "snapshot", file? }       write a V8 heap snapshot, answers its path
 *   { id, op: "cpu" }                   CPU time (user + system) of this process so far, ms
 *   { id, op: "stats" }                 subscriptions held, NOTIFYs sent/failed (after draining queued NOTIFYs)
 *   { id, op: "profile-start" }         start the V8 CPU profiler (profiling one measure's window)
 *   { id, op: "profile-stop", file }    stop it and write the .cpuprofile to `file`, answers the path
 * Answers `{ id, result }` or `{ id, error }`. SIGTERM or the parent going away stops it.
 */
import { readFileSync } from "node:fs";
import { MemoryAccountDirectory, PresenceServer, type PresenceStateStore } from "../../lib/server";
import { MemoryXcapStore, computeEtag } from "../../lib/xcap/server";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
};
const DOMAIN = opt("domain", "bench.test");
const USERS = Number(opt("users", "12000"));
const PASSWORD = opt("password", "bench-password");
const PREFIX = opt("prefix", "u");
const NOTIFY_INTERVAL_MS = Number(opt("notify-interval-ms", "0"));

/** Persistence that keeps nothing in this process (as with a database): memory figures are the server's own. */
const offProcessStore: PresenceStateStore = { load: async () => [], apply: async () => {} };

const accounts = new MemoryAccountDirectory().addDomain(DOMAIN);
for (let i = 0; i < USERS; i++) accounts.addAccount(`${PREFIX}${i}`, DOMAIN, PASSWORD);
const store = new MemoryXcapStore();
const server = new PresenceServer({
  listen: { host: "127.0.0.1", tcpPort: 0 },
  accounts,
  xcap: { store },
  notifyIntervalMs: NOTIFY_INTERVAL_MS,
  state: offProcessStore,
  maxConnectionsPerAddress: 0, // every bench connection comes from 127.0.0.1
});
const addr = await server.start();

const rules = `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="all"><cr:conditions><cr:identity><cr:many domain="${DOMAIN}"/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
</cr:ruleset>`;

let profiler: import("node:inspector/promises").Session | undefined;

function vmRssBytes(): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

async function handle(op: string, msg: Record<string, unknown>): Promise<unknown> {
  switch (op) {
    case "allow": {
      for (const p of msg.presentities as string[]) {
        const key = { auid: "org.openmobilealliance.pres-rules", scope: "users" as const, xui: p, docPath: "index" };
        if (await store.get(key)) continue;
        await store.put(key, { content: rules, etag: await computeEtag(rules + p) }, null);
      }
      return null;
    }
    case "memory": {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) for (let i = 0; i < 3; i++) gc();
      const m = process.memoryUsage();
      return { gc: typeof gc === "function", heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: vmRssBytes() };
    }
    case "snapshot": {
      // heap snapshot of this process (profiling memory per subscription)
      const { writeHeapSnapshot } = await import("node:v8");
      return writeHeapSnapshot(msg.file as string | undefined);
    }
    case "cpu": {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    }
    case "profile-start": {
      const { Session } = await import("node:inspector/promises");
      profiler ??= new Session();
      profiler.connect();
      await profiler.post("Profiler.enable");
      await profiler.post("Profiler.start");
      return null;
    }
    case "profile-stop": {
      if (!profiler) throw new Error("profiler not started");
      const { profile } = await profiler.post("Profiler.stop");
      const { writeFileSync } = await import("node:fs");
      const file = (msg.file as string | undefined) ?? `herald-${process.pid}.cpuprofile`;
      writeFileSync(file, JSON.stringify(profile));
      profiler.disconnect();
      profiler = undefined;
      return file;
    }
    case "stats": {
      await server.notifier.drain();
      await server.flush();
      return { subscriptions: server.notifier.size, ...server.notifier.stats };
    }
    default:
      throw new Error(`unknown op ${op}`);
  }
}

process.on("message", (raw) => {
  const msg = raw as { id: number; op: string } & Record<string, unknown>;
  handle(msg.op, msg).then(
    (result) => process.send?.({ id: msg.id, result }),
    (e: unknown) => process.send?.({ id: msg.id, error: e instanceof Error ? e.message : String(e) }),
  );
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  const hard = setTimeout(() => process.exit(0), 5000);
  hard.unref();
  void server.stop().finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.on("disconnect", stop);
process.stdout.write(JSON.stringify({ port: addr.tcp!.port, pid: process.pid }) + "\n");
