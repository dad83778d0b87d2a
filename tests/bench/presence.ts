/**
 * Presence server benchmark (issue 3). Prints JSON lines, no assertions:
 *   npm run bench -- presence [--no-kamailio] [--kamailio-children 4] [--notify-interval-ms 0]
 *        [--publishers 8 --publishes 4000] [--setups 2000] [--P 20 --W 100 --rounds 10 --rate 200]
 *        [--hold 10000] [--settle-ms 6000] [--kamailio-shm-mb 1024]
 *        [--only=subscribe-setup,publish]   measures to run (publish, subscribe-setup, fanout, memory;
 *                                           default all); `--only x` works too when run directly
 *        [--repeat 1]                       run the selected measures that many times (one ratio line each)
 *        [--warmup-setups 2000]             unreported setups per target before the measures (rounds of 500)
 *
 * Figures, per target:
 *   parser            lib/sip parseMessage of a PUBLISH with a PIDF body, messages/s (Herald only)
 *   publish           PUBLISH modifications/s (8 publishers, one connection each, one in flight each)
 *   subscribe-setup   SUBSCRIBE → 200 → first NOTIFY setups/s over TCP (50 in flight, 20 connections)
 *   fanout            P presentities × W watchers, every presentity PUBLISHes `rounds` modifications
 *                     at `rate` PUBLISHes/s overall; NOTIFYs delivered/s, p50/p99 PUBLISH→NOTIFY
 *   memory            bytes per held subscription at 10,000 subscriptions, measured in the server
 *                     process(es) only, on a fresh server
 * Targets, each in its own process(es), the same load (same users, pres-rules "allow", same
 * concurrency) from this process:
 *   herald     PresenceServer in a child process (tests/bench/presence-herald-server.ts), in-memory
 *              accounts and XCAP store, persistence off-process (a no-op store, as with a database)
 *   kamailio   Kamailio 5.6 presence + presence_xml (tests/helpers/kamailio.ts), PostgreSQL back end,
 *              when installed
 * Server CPU per operation (user + system time of the server's process(es) during a measure,
 * divided by its operations) is printed too: unlike rates it does not depend on what else runs
 * on the machine. Kamailio's figure excludes PostgreSQL's processes.
 * Then one `{"bench":"presence","measure":…,"herald":…,"kamailio":…,"ratio":…}` line per measure;
 * ratio = herald / kamailio (`higherIsBetter` says which way is good).
 *
 * Measures alternate between targets (Herald's publish, Kamailio's publish, Herald's setups, …) so
 * that other load on the machine skews both alike. Before the measured loads each target gets an
 * unreported warm-up (1,000 PUBLISHes, 2,000 setups): the figures are those of a server that has
 * been running, which is what a presence server is. Node's JIT settles after ~2,000-4,000
 * SUBSCRIBEs; a compiled Kamailio needs no warm-up, and gets the same one.
 * Accounts: Herald's child uses an in-memory account directory (HA1 computed per request);
 * Kamailio's auth_db reads the subscriber table in PostgreSQL per request.
 *
 * Rate limit: RFC 3856 §6.10's per-presentity NOTIFY rate limit (Herald's notifyIntervalMs, default
 * 1000 ms in production) is set to 0 here (`--notify-interval-ms`) because Kamailio's presence module
 * NOTIFYs every PUBLISH at once (it has no such limit); with 1000 ms the fan-out latency would
 * measure the limit, not the server.
 */
import { processTree, pssBytes } from "../helpers/kamailio";
import { startChildServer } from "./child-server";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { parseMessage } from "../../lib/sip/parser";
import { serializeMessage } from "../../lib/sip/serializer";
import { createRequest } from "../../lib/sip/ua-helpers";
import { kamailioAvailable, kamailioBenchTarget, startKamailio, type KamailioServer } from "../helpers/kamailio";
import { pidf } from "../helpers/sip-client";
import { fanout, holdSubscriptions, publishRate, subscribeSetups, type BenchTarget } from "./presence-load";

const DOMAIN = "bench.test";
const PASSWORD = "bench-password";
const USERS = 12_000;
const argv = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  if (eq) return Number(eq.slice(name.length + 3));
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const flag = (name: string) => argv.includes(`--${name}`);
/** `--only a,b` or `--only=a,b` (npm run bench passes only arguments that start with `-`) */
const ONLY = ((): Set<string> | undefined => {
  const eq = argv.find((a) => a.startsWith("--only="));
  const i = argv.indexOf("--only");
  const v = eq ? eq.slice("--only=".length) : i >= 0 ? argv[i + 1] : undefined;
  return v ? new Set(v.split(",")) : undefined;
})();
const runs = (measure: string) => !ONLY || ONLY.has(measure);
const NOTIFY_INTERVAL_MS = arg("notify-interval-ms", 0);
const WARMUP_SETUPS = 2000;

function line(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + "\n");
}

interface MemorySample {
  /** what `bytes` counts */
  what: string;
  bytes: number;
  extra?: Record<string, number>;
}

interface RunningTarget {
  target: BenchTarget;
  /** memory of the server process(es) only */
  memory(): Promise<MemorySample>;
  /** CPU time (user + system) used by the server process(es) so far, ms */
  cpuMs(): Promise<number>;
  /** subscriptions held by the server, when it can tell */
  held(): Promise<number | undefined>;
  stop(): Promise<void>;
}

// ---- Herald in a child process ---------------------------------------------------------------

async function startHerald(): Promise<RunningTarget> {
  const script = fileURLToPath(new URL("./presence-herald-server.ts", import.meta.url));
  const { child, ready, call } = await startChildServer<{ port: number; pid: number }>(
    script,
    ["--domain", DOMAIN, "--users", String(USERS), "--password", PASSWORD, "--notify-interval-ms", String(NOTIFY_INTERVAL_MS)],
    "Herald presence child",
  );
  const { port } = ready;
  const target: BenchTarget = {
    name: "herald",
    host: "127.0.0.1",
    port,
    domain: DOMAIN,
    account: (i) => ({ user: `u${i}`, password: PASSWORD }),
    allowAll: (presentities) => call<void>("allow", { presentities }),
  };
  return {
    target,
    async memory() {
      const m = await call<{ heapUsed: number; external: number; arrayBuffers: number; rss: number }>("memory");
      return { what: "server process: V8 heapUsed + external after full GC", bytes: m.heapUsed + m.external, extra: { rss: m.rss } };
    },
    cpuMs: () => call<number>("cpu"),
    async held() {
      return (await call<{ subscriptions: number }>("stats")).subscriptions;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

// ---- Kamailio ------------------------------------------------------------------------------------

/** The main process and every descendant (Kamailio forks its workers). */

/** utime + stime of a process, ms (clock ticks of 10 ms) */
function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}


async function startKamailioTarget(): Promise<RunningTarget> {
  const children = arg("kamailio-children", 4);
  // 1 GiB of shm: with the harness's 256 MB, 20,000 NOTIFY transactions of the fan-out exhaust
  // Kamailio's shared memory (q_malloc "Free fragment not found", PUBLISHes answered 500)
  const k: KamailioServer = await startKamailio({ domain: DOMAIN, children, authephSecret: false, shmMb: arg("kamailio-shm-mb", 1024) });
  try {
    const t = await kamailioBenchTarget(k, { count: USERS, password: PASSWORD });
    const target: BenchTarget = { ...t };
    return {
      target,
      async memory() {
        const pids = processTree(k.pid);
        const bytes = pids.reduce((s, p) => s + pssBytes(p), 0);
        return { what: `kamailio: summed PSS of its ${pids.length} processes (shm + pkg; PostgreSQL not counted)`, bytes, extra: { processes: pids.length } };
      },
      cpuMs: async () => processTree(k.pid).reduce((s, p) => s + cpuMsOf(p), 0),
      async held() {
        // active_watchers is written back from shm periodically (subs_db_mode 2); the hash table is authoritative
        return undefined;
      },
      stop: () => k.stop(),
    };
  } catch (e) {
    await k.stop();
    throw e;
  }
}

// ---- the measures --------------------------------------------------------------------------------

function parserRate(): Record<string, number> {
  const publish = serializeMessage(
    createRequest({
      method: "PUBLISH",
      uri: `sip:u1@${DOMAIN}`,
      from: `<sip:u1@${DOMAIN}>;tag=8f3a2c`,
      to: `<sip:u1@${DOMAIN}>`,
      via: { transport: "TCP", host: "127.0.0.1", port: 39636 },
      headers: [
        ["Event", "presence"],
        ["Expires", "3600"],
        ["SIP-If-Match", "a1b2c3d4e5"],
        ["Proxy-Authorization", `Digest username="u1", realm="${DOMAIN}", nonce="awJOMWsCTQXOy5R22qisYo8gnS4FHCUk", uri="sip:u1@${DOMAIN}", response="96102b5636c52dd3dbabb3156a65450f", algorithm=MD5, qop=auth, nc=00000001, cnonce="6b930abcdd34"`],
      ],
      body: pidf(`sip:u1@${DOMAIN}`, "open", "bench"),
      contentType: "application/pidf+xml",
    }),
  );
  const N = 100_000;
  for (let i = 0; i < 10_000; i++) parseMessage(publish);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) parseMessage(publish);
  const ns = Number(process.hrtime.bigint() - t0);
  return { messages: N, bytes: publish.length, perSecond: Math.round((N * 1e9) / ns), usPerMessage: +(ns / N / 1000).toFixed(2) };
}

interface Results {
  publish?: number;
  setups?: number;
  notifies?: number;
  p50?: number;
  p99?: number;
  memory?: number;
  publishCpu?: number;
  setupCpu?: number;
  notifyCpu?: number;
}

type Starter = [name: string, start: () => Promise<RunningTarget>];

/**
 * The loads, measure by measure: each measure runs against every target back to back (not all of
 * one target, then the other), so that other work on the machine skews both alike.
 */
async function runLoads(starters: Starter[]): Promise<Map<string, Results>> {
  const out = new Map<string, Results>(starters.map(([n]) => [n, {}]));
  const running: Array<[string, RunningTarget]> = [];
  try {
    for (const [name, start] of starters) running.push([name, await start()]);
    // warm-up (not reported): JIT for Herald and for this process (the load generator is Node too:
    // cold, it costs ~1.6x more CPU per setup, which would burden whichever target is measured
    // first), connection pools and caches for both; setups in rounds of 500 alternating targets
    for (const [, rt] of running) {
      if (runs("publish") || runs("fanout")) await publishRate(rt.target, { clients: arg("publishers", 8), count: 1000, firstUser: 0 });
    }
    for (let left = arg("warmup-setups", WARMUP_SETUPS); left > 0; left -= 500) {
      for (const [, rt] of running) await subscribeSetups(rt.target, { count: Math.min(500, left), concurrency: 50, watchers: 20, presentity: 101, firstWatcher: 300 });
    }
    for (let rep = 0; rep < arg("repeat", 1); rep++) {
      if (runs("publish")) for (const [name, rt] of running) {
        const cpu0 = await rt.cpuMs();
        const pub = await publishRate(rt.target, { clients: arg("publishers", 8), count: arg("publishes", 4000), firstUser: 0 });
        const serverCpuUsPerPublish = Math.round((((await rt.cpuMs()) - cpu0) * 1000) / pub.publishes);
        line({ bench: "publish", target: name, ...pub, serverCpuUsPerPublish });
        out.get(name)!.publish = pub.perSecond;
        out.get(name)!.publishCpu = serverCpuUsPerPublish;
      }
      if (runs("subscribe-setup")) for (const [name, rt] of running) {
        const cpu0 = await rt.cpuMs();
        const own0 = process.cpuUsage();
        const sub = await subscribeSetups(rt.target, { count: arg("setups", 2000), concurrency: 50, watchers: 20, presentity: 100, firstWatcher: 200 });
        const serverCpuUsPerSetup = Math.round((((await rt.cpuMs()) - cpu0) * 1000) / sub.setups);
        const own = process.cpuUsage(own0);
        // the load generator's own CPU: near 1 s per second means it, not the server, caps the rate
        const loadCpuUsPerSetup = Math.round((own.user + own.system) / sub.setups);
        line({ bench: "subscribe-setup", target: name, ...sub, serverCpuUsPerSetup, loadCpuUsPerSetup, loadCpuShare: +((own.user + own.system) / 1e6 / sub.seconds).toFixed(2) });
        out.get(name)!.setups = sub.perSecond;
        out.get(name)!.setupCpu = serverCpuUsPerSetup;
      }
      if (runs("fanout")) for (const [name, rt] of running) {
        const cpu0 = await rt.cpuMs();
        const fo = await fanout(rt.target, { presentities: arg("P", 20), watchers: arg("W", 100), rounds: arg("rounds", 10), ratePerSecond: arg("rate", 200), firstUser: 1000 });
        const serverCpuUsPerNotify = Math.round((((await rt.cpuMs()) - cpu0) * 1000) / Math.max(1, fo.notifiesDelivered));
        line({ bench: "fanout", target: name, notifyIntervalMs: name === "herald" ? NOTIFY_INTERVAL_MS : undefined, ...fo, serverCpuUsPerNotify, cpuNote: "includes setting up the P×W subscriptions" });
        const r = out.get(name)!;
        r.notifyCpu = serverCpuUsPerNotify;
        r.notifies = fo.notifiesPerSecond;
        r.p50 = fo.latencyP50Ms;
        r.p99 = fo.latencyP99Ms;
      }
      const [hs, ks] = [out.get("herald"), out.get("kamailio")];
      if (runs("subscribe-setup") && hs?.setups && ks?.setups) line({ bench: "presence-rep", rep, measure: "subscribe_setups", ratio: +(hs.setups / ks.setups).toFixed(2), heraldCpuUs: hs.setupCpu, kamailioCpuUs: ks.setupCpu });
    }
  } finally {
    for (const [, rt] of running) await rt.stop();
  }

  // memory per held subscription: a fresh server each, measured in the server process(es) only
  if (runs("memory")) for (const [name, start] of starters) {
    const fresh = await start();
    try {
      const count = arg("hold", 10_000);
      const before = await fresh.memory();
      // the 50 watcher connections are part of the delta (a few KB each on the server side)
      const clients = await holdSubscriptions(fresh.target, { count, watchers: 50, presentities: 200, firstUser: 2000 });
      const held = await fresh.held();
      // NOTIFY transactions settle: Kamailio's tm keeps completed ones for wait_timer (5 s)
      await new Promise((r) => setTimeout(r, arg("settle-ms", 6000)));
      const after = await fresh.memory();
      const bytesPerSubscription = Math.round((after.bytes - before.bytes) / count);
      line({
        bench: "memory",
        target: name,
        subscriptions: count,
        heldByServer: held,
        bytesPerSubscription,
        measured: after.what,
        rssPerSubscription: after.extra?.rss !== undefined && before.extra?.rss !== undefined ? Math.round((after.extra.rss - before.extra.rss) / count) : undefined,
        note: "delta before/after opening the subscriptions over 50 watcher connections, divided by the subscriptions",
      });
      out.get(name)!.memory = bytesPerSubscription;
      await Promise.all(clients.map((c) => c.close()));
    } finally {
      await fresh.stop();
    }
  }
  return out;
}

async function main(): Promise<void> {
  line({ bench: "presence", node: process.version, cpus: cpus().length, notifyIntervalMs: NOTIFY_INTERVAL_MS, users: USERS });
  if (!ONLY) line({ bench: "parser", target: "herald", what: "parseMessage(PUBLISH + PIDF)", ...parserRate() });

  const starters: Starter[] = [["herald", startHerald]];
  if (!flag("no-kamailio")) {
    if (!kamailioAvailable()) line({ bench: "presence-skip", target: "kamailio", reason: "Kamailio or its presence modules not installed" });
    else {
      line({ bench: "presence-kamailio", children: arg("kamailio-children", 4), note: "presence + presence_xml, pres-rules from the xcap table, PostgreSQL back end" });
      starters.push(["kamailio", startKamailioTarget]);
    }
  }
  const results = await runLoads(starters);
  const h = results.get("herald")!;
  const k = results.get("kamailio");
  if (!k) return;
  const measures: Array<[string, keyof Results, string, boolean]> = [
    ["publish_rate", "publish", "PUBLISH/s", true],
    ["subscribe_setups", "setups", "setups/s", true],
    ["fanout_notifies", "notifies", "NOTIFY/s", true],
    ["fanout_latency_p50", "p50", "ms", false],
    ["fanout_latency_p99", "p99", "ms", false],
    ["server_cpu_per_publish", "publishCpu", "µs of server CPU (all its processes)", false],
    ["server_cpu_per_setup", "setupCpu", "µs of server CPU (all its processes)", false],
    ["server_cpu_per_notify", "notifyCpu", "µs of server CPU incl. subscription set-up", false],
    ["memory_per_subscription", "memory", "bytes (Herald: heap of its process; Kamailio: summed PSS)", false],
  ];
  for (const [measure, key, unit, higherIsBetter] of measures) {
    const hv = h[key];
    const kv = k[key];
    if (hv === undefined || kv === undefined) continue;
    line({ bench: "presence", measure, unit, herald: +hv.toFixed(2), kamailio: +kv.toFixed(2), ratio: kv ? +(hv / kv).toFixed(2) : null, higherIsBetter });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e) + "\n");
    process.exit(1);
  },
);
