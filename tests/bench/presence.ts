/**
 * Presence server benchmark. Prints JSON lines (no assertions):
 *   npx tsx --expose-gc tests/bench/presence.ts            # Herald's embedded server, in process
 * Figures: PUBLISH rate; SUBSCRIBE+NOTIFY setups/s over TCP; fan-out (P × W, NOTIFYs/s, p50/p99
 * PUBLISH→NOTIFY latency); memory per held subscription at 10,000 subscriptions.
 * The load functions (presence-load.ts) take any BenchTarget, so the Kamailio harness can run the
 * same load against its server and print ratios.
 */
import { MemoryAccountDirectory, PresenceServer, type PresenceStateStore } from "../../lib/server";
import { MemoryXcapStore, computeEtag } from "../../lib/xcap/server";
import { fanout, holdSubscriptions, publishRate, subscribeSetups, type BenchTarget } from "./presence-load";

const DOMAIN = "bench.test";
const PASSWORD = "bench-password";
const USERS = 12_000;
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};

function line(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + "\n");
}

/** Persistence that keeps nothing in this process (as with a database): memory figures are the server's own. */
const offProcessStore: PresenceStateStore = { load: async () => [], apply: async () => {} };

async function embedded(): Promise<{ target: BenchTarget; server: PresenceServer }> {
  const accounts = new MemoryAccountDirectory().addDomain(DOMAIN);
  for (let i = 0; i < USERS; i++) accounts.addAccount(`u${i}`, DOMAIN, PASSWORD);
  const store = new MemoryXcapStore();
  const server = new PresenceServer({ listen: { host: "127.0.0.1", tcpPort: 0 }, accounts, xcap: { store }, notifyIntervalMs: 0, state: offProcessStore });
  const addr = await server.start();
  const rules = `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="all"><cr:conditions><cr:identity><cr:many domain="${DOMAIN}"/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
</cr:ruleset>`;
  const target: BenchTarget = {
    name: "herald",
    host: "127.0.0.1",
    port: addr.tcp!.port,
    domain: DOMAIN,
    account: (i) => ({ user: `u${i}`, password: PASSWORD }),
    allowAll: async (presentities) => {
      for (const p of presentities) {
        const key = { auid: "org.openmobilealliance.pres-rules", scope: "users" as const, xui: p, docPath: "index" };
        if (await store.get(key)) continue;
        await store.put(key, { content: rules, etag: await computeEtag(rules + p) }, null);
      }
    },
  };
  return { target, server };
}

function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

async function main(): Promise<void> {
  const { target, server } = await embedded();
  line({ bench: "presence", target: target.name, node: process.version, gc: typeof (globalThis as { gc?: unknown }).gc === "function" });

  const pub = await publishRate(target, { clients: arg("publishers", 8), count: arg("publishes", 4000), firstUser: 0 });
  line({ bench: "publish", target: target.name, ...pub });

  const sub = await subscribeSetups(target, { count: arg("setups", 2000), concurrency: 50, watchers: 20, presentity: 100, firstWatcher: 200 });
  line({ bench: "subscribe-setup", target: target.name, ...sub });

  const fo = await fanout(target, { presentities: arg("P", 20), watchers: arg("W", 100), rounds: arg("rounds", 10), ratePerSecond: arg("rate", 200), firstUser: 1000 });
  line({ bench: "fanout", target: target.name, ...fo });

  // memory per held subscription: only this process (server + thin clients) — measured in-process
  await server.stop();
  const fresh = await embedded();
  const before = heap();
  const count = arg("hold", 10_000);
  const clients = await holdSubscriptions(fresh.target, { count, watchers: 50, presentities: 200, firstUser: 2000 });
  await fresh.server.notifier.drain();
  await fresh.server.flush();
  const after = heap();
  line({
    bench: "memory",
    target: fresh.target.name,
    subscriptions: fresh.server.notifier.size,
    bytesPerSubscription: Math.round((after - before) / count),
    note: "heap+external delta of the whole process (server and the 50 bench connections) / subscriptions",
  });
  await Promise.all(clients.map((c) => c.close()));
  await fresh.server.stop();
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e) + "\n");
    process.exit(1);
  },
);
