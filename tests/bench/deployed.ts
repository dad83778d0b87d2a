/**
 * Deployed-Herald benchmark (issue 13): Herald as users run it — `herald start` (the `npm start`
 * entry point, `node --import tsx lib/cli/main.ts start`, NODE_ENV=production) as a child process
 * (tests/helpers/herald-process.ts), on its default SQLite (a fresh HERALD_DATA_DIR) and on
 * PostgreSQL (a private cluster, tests/helpers/postgres.ts: fsync off, as Kamailio's test
 * PostgreSQL), driven over real sockets; Kamailio (tests/helpers/kamailio.ts, PostgreSQL back end)
 * in the same run as the reference. Every target runs for the whole script; each measure runs
 * against every target in turn (Herald SQLite, Herald PostgreSQL, Kamailio). Prints JSON lines and
 * Herald/Kamailio ratios, no assertions:
 *   npm run bench -- deployed [--no-kamailio] [--db=sqlite,postgresql] [--only=publish,setup,fanout,xcap]
 *        [--rate 1000] [--seconds 8] [--presentities 20] [--xcap-seconds 3] [--concurrency 10]
 *        [--contacts 200] [--kamailio-children 4] [--no-production-limit] [--cpu-prof=DIR] [--before=DIR]
 *        [--trace-gc --server-log=PREFIX] (each Herald's output, its GC trace with --trace-gc, into PREFIX-<target>.log)
 *        [--heap-snapshot=DIR] [--alloc-prof=DIR]
 *
 * `--heap-snapshot=DIR` writes a V8 heap snapshot of each Herald target (after a full GC) with the
 * setup's watchers connected and again with their subscriptions held, `<target>-{connected,held}.heapsnapshot`
 * (what a held subscription keeps: compare the two, e.g. in DevTools' comparison view).
 * `--alloc-prof=DIR` writes a sampling allocation profile of the setups and of each XCAP load (`<target>-setup.heapprofile`, `<target>-xcap-put.heapprofile`,
 * garbage included: where the collector's work comes from).
 *
 * `--before=DIR` adds another target: the checkout in DIR (an earlier commit, built, with its
 * node_modules) started the same way on SQLite, for before/after figures in one run.
 *
 * Needs a portal build (`npx next build`); without `.next`, `herald start` builds it first.
 * Herald runs with SIP_NOTIFY_INTERVAL_MS=0 (Kamailio's presence module has no NOTIFY rate limit);
 * one more `herald start` (SQLite) with the production 1 s limit runs the fan-out only, labelled.
 * Measures, per target:
 *   publish       PUBLISH (PIDF modification, conditional on the last SIP-ETag) offered at --rate
 *                 per second in total for --seconds, spread over --presentities UAs, one TCP
 *                 connection each with digest (tests/bench/presence-load.ts connectUser). Each UA
 *                 sends its next PUBLISH at its scheduled time, or as soon as its previous one is
 *                 answered when it is late (a UA has one PUBLISH in flight: the next one needs the
 *                 new entity tag), so `perSecond` below the offered rate means the server fell
 *                 behind. Latency: `serviceP50Ms`/`serviceP99Ms` from sending; `p50Ms`/`p99Ms` from
 *                 the scheduled time (includes the wait behind a late answer).
 *   setup         SUBSCRIBE → 200 + first NOTIFY: 40 watchers (one TCP connection each, digest)
 *                 each subscribe to 50 presentities, 50 setups in flight; setups/s and latency from
 *                 sending to the first NOTIFY. Two identical rounds, each ended (Expires: 0) before
 *                 the next; the second is the measure, the first is printed as
 *                 `setup-first-after-start`. In a third, untimed, the 2,000 subscriptions are held
 *                 while Herald's heap is measured (V8 heap used after a full GC, through the
 *                 inspector: `heapPerSubscriptionBytes`, against the heap with the 40 watchers
 *                 connected and authenticated).
 *   publish       (above) is preceded by 1 s at the same rate, not counted.
 *   fanout-500, fanout-5000
 *                 40 presentities × 25 watchers (tests/bench/presence-load.ts fanout), PUBLISHes at
 *                 20/s and 200/s: 500 and 5,000 NOTIFY/s offered; PUBLISH → NOTIFY latency.
 *   xcap-get      GET of a --contacts-entry resource-lists document, HTTP digest (nonce reused,
 *                 nc counting), --concurrency workers, a new TCP connection per request
 *   xcap-put      PUT of that whole document (unconditional replace), same conditions
 *   memory        Herald's RSS (/proc/<pid>/status) after start, after the loads, and after a full
 *                 GC; Kamailio's PSS over its processes for reference.
 * `loadCpuShare`: this process's CPU over the measure as a share of one core (near 1 it, not the
 * server, caps the rate); `serverCpuShare`: the server's (Herald's process; Kamailio's processes).
 */
import { flagArg, numberArg, stringArg } from "./args";
import http from "node:http";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { cpus } from "node:os";
import { addAccount, addDomain } from "../../lib/accounts/service";
import { digestHa1 } from "../../lib/accounts/password";
import { XcapClient, type FetchFn } from "../../lib/xcap/client/xcap-client";
import { startHerald, type HeraldProcess } from "../helpers/herald-process";
import { kamailioAvailable, kamailioBenchTarget, kamailioMemoryBytes, processTree, startKamailio, type KamailioServer } from "../helpers/kamailio";
import { numberedContacts, presRulesXml, resourceListsXml } from "../helpers/kamailio-documents";
import { startPostgres, type PgCluster } from "../helpers/postgres";
import { pidf, type ClientSubscription, type SipTestClient } from "../helpers/sip-client";
import { connectUser, fanout, type BenchTarget } from "./presence-load";
import { connectInspector, cpuMsOf, heapAfterGc, rssBytes, writeHeapSnapshot } from "./process-stats";

const num = numberArg;
const gitRev = (dir: string) => spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: dir, encoding: "utf8" }).stdout.trim() || dir;
const flag = flagArg;
const list = (name: string) => stringArg(name)?.split(",");
const ONLY = list("only");
const runs = (measure: string) => !ONLY || ONLY.includes(measure);
const DBS = list("db") ?? ["sqlite", "postgresql"];

const DOMAIN = "example.test";
const PASSWORD = "Bench-deployed-pass1"; // passes the portal's password policy
const PRESENTITIES = num("presentities", 20);
const RATE = num("rate", 1000);
const SECONDS = num("seconds", 8);
const XCAP_SECONDS = num("xcap-seconds", 3);
const CONCURRENCY = num("concurrency", 10);
const CONTACTS = num("contacts", 200);
/** setup: watchers × presentities (users SETUP_FIRST…) */
const SETUP_PRESENTITIES = 50;
const SETUP_WATCHERS = 40;
const SETUP_FIRST = 0;
/** the heap round's presentities (no earlier round subscribed to them; the fan-out's users later) */
const HEAP_PRESENTITIES_FIRST = 100;
/** fan-out: presentities × watchers (users FANOUT_FIRST…) */
const FANOUT_P = 40;
const FANOUT_W = 25;
const FANOUT_FIRST = 100;
const ACCOUNTS = FANOUT_FIRST + FANOUT_P + FANOUT_W;
const KAMAILIO = "kamailio";

function line(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + "\n");
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return +sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!.toFixed(2);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- PUBLISH at an offered rate ------------------------------------------------------------------

interface PublishResult {
  offeredPerSecond: number;
  publishes: number;
  failures: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  serviceP50Ms: number;
  serviceP99Ms: number;
}

async function publishAtRate(t: BenchTarget): Promise<PublishResult> {
  const clients: SipTestClient[] = await Promise.all(Array.from({ length: PRESENTITIES }, (_, i) => connectUser(t, i)));
  try {
    // warm-up, not counted: the initial PUBLISH (and its digest challenge), a short burst and 1 s at the rate
    const etags: (string | undefined)[] = await Promise.all(clients.map(async (c) => (await c.publish(pidf(c.aor, "open", "warm-up"))).getHeader("SIP-ETag")));
    for (let k = 0; k < 5; k++) {
      await Promise.all(
        clients.map(async (c, i) => {
          const r = await c.publish(pidf(c.aor, k % 2 ? "open" : "closed", `w${k}`), { etag: etags[i] });
          if (r.status === 200) etags[i] = r.getHeader("SIP-ETag");
        }),
      );
    }
    const interval = 1000 / RATE; // between two PUBLISHes overall
    const fromSchedule: number[] = [];
    const service: number[] = [];
    let failures = 0;
    const atRate = async (seconds: number, record: boolean) => {
      const perClient = Math.round((RATE * seconds) / PRESENTITIES);
      const start = performance.now() + 20;
      await Promise.all(
        clients.map(async (c, i) => {
          for (let k = 0; k < perClient; k++) {
            const due = start + (k * PRESENTITIES + i) * interval;
            const wait = due - performance.now();
            if (wait > 0) await sleep(wait);
            const sent = performance.now();
            const r = await c.publish(pidf(c.aor, k % 2 ? "open" : "closed", `n${k}`), { etag: etags[i] });
            const done = performance.now();
            if (r.status === 200) etags[i] = r.getHeader("SIP-ETag");
            if (!record) continue;
            if (r.status !== 200) failures++;
            service.push(done - sent);
            fromSchedule.push(done - due);
          }
        }),
      );
      return { perClient, start };
    };
    // one more second at the offered rate, not counted: the code paths compiled, as in a running server
    await atRate(1, false);
    const { perClient, start } = await atRate(SECONDS, true);
    const seconds = (performance.now() - start) / 1000;
    await Promise.all(clients.map((c, i) => c.publish(undefined, { etag: etags[i], expires: 0 }).catch(() => undefined)));
    fromSchedule.sort((a, b) => a - b);
    service.sort((a, b) => a - b);
    const publishes = perClient * PRESENTITIES;
    return {
      offeredPerSecond: RATE,
      publishes,
      failures,
      seconds: +seconds.toFixed(3),
      perSecond: Math.round(publishes / seconds),
      p50Ms: percentile(fromSchedule, 50),
      p99Ms: percentile(fromSchedule, 99),
      serviceP50Ms: percentile(service, 50),
      serviceP99Ms: percentile(service, 99),
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
}

// ---- XCAP, a new connection per request -----------------------------------------------------------

/** fetch over node:http without an agent: every request opens (and closes) its own TCP connection. */
const fetchNewConnection: FetchFn = (input, init) =>
  new Promise<Response>((resolve, reject) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => (headers[k] = v));
    const body = init.body == null ? undefined : typeof init.body === "string" ? init.body : String(init.body as unknown as string);
    if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
    const req = http.request(input, { method: init.method ?? "GET", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) for (const x of Array.isArray(v) ? v : [v]) h.append(k, x);
        const status = res.statusCode ?? 0;
        const noBody = status === 204 || status === 304 || init.method === "HEAD";
        resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, headers: h }));
      });
      res.on("error", reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${init.method ?? "GET"} ${input}`)));
    req.on("error", reject);
    req.end(body);
  });

interface XcapTarget {
  root: string;
  user: string;
  ha1: string;
  wildcard: "*" | '"*"';
}

const contacts = numberedContacts(CONTACTS, DOMAIN);
const documentXml = resourceListsXml({ buddies: contacts });

function xcapClient(t: XcapTarget): XcapClient {
  return new XcapClient({ root: t.root, xui: `sip:${t.user}@${DOMAIN}`, auth: { username: t.user, ha1: t.ha1 }, wildcard: t.wildcard, fetch: fetchNewConnection, timeoutMs: 10_000 });
}

async function xcapOp(t: XcapTarget, op: "get" | "put"): Promise<Record<string, unknown> & { rps: number }> {
  const clients = Array.from({ length: CONCURRENCY }, () => xcapClient(t));
  // prime each client's digest session (one 401 each), outside the measurement
  await Promise.all(clients.map((c) => c.getDocument("resource-lists", "index")));
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const warmEnd = performance.now() + 500;
  const end = warmEnd + XCAP_SECONDS * 1000;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          if (op === "get") {
            const r = await c.getDocument("resource-lists", "index");
            if (!r || r.xml.length < CONTACTS * 40) throw new Error("short document");
          } else await c.putDocument("resource-lists", "index", documentXml);
        } catch (e) {
          errors++;
          firstError ??= (e as Error).message;
        }
        const t1 = performance.now();
        if (t1 >= warmEnd && t1 <= end) latencies.push(t1 - t0);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { concurrency: CONCURRENCY, connection: "new per request", rps: Math.round(latencies.length / XCAP_SECONDS), p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), requests: latencies.length, errors, ...(firstError ? { firstError } : {}) };
}

async function prepareXcap(name: string, t: XcapTarget): Promise<void> {
  const c = xcapClient(t);
  await c.putDocument("resource-lists", "index", documentXml);
  const back = await c.getDocument("resource-lists", "index");
  if (!back || !back.xml.includes(contacts[CONTACTS - 1]!.uri)) throw new Error(`${name}: the ${CONTACTS}-entry document did not round-trip`);
}

// ---- SUBSCRIBE → 200 + first NOTIFY -----------------------------------------------------------

async function pool<T>(items: T[], concurrency: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

interface SetupResult {
  setups: number;
  failures: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * 40 watchers × 50 presentities, 50 in flight. `whileHeld` runs with the subscriptions held (the
 * heap measure); they are ended afterwards.
 */
async function setupRate(
  t: BenchTarget,
  hooks: { connected?: () => Promise<void>; whileHeld: () => Promise<Record<string, unknown>> },
  presentityFirst = SETUP_FIRST,
): Promise<SetupResult & Record<string, unknown>> {
  const notified = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const watchers = await Promise.all(
    Array.from({ length: SETUP_WATCHERS }, (_, i) =>
      connectUser(t, SETUP_FIRST + SETUP_PRESENTITIES + i, {
        onRequest: (r) => {
          if (r.method !== "NOTIFY" || notified.has(r.callId)) return;
          notified.set(r.callId, performance.now());
          waiting.get(r.callId)?.();
        },
      }),
    ),
  );
  const aor = (i: number) => `sip:${t.account(i).user}@${t.domain}`;
  const presentities = Array.from({ length: SETUP_PRESENTITIES }, (_, i) => aor(presentityFirst + i));
  const held: Array<{ w: SipTestClient; sub: ClientSubscription }> = [];
  try {
    await t.allowAll(presentities, watchers.map((w) => w.aor));
    // the digest challenge of each connection, outside the measure (a fetch: Expires 0)
    await Promise.all(watchers.map((w) => w.subscribe(presentities[0]!, { expires: 0 })));
    await hooks.connected?.();
    const jobs = watchers.flatMap((w) => presentities.map((p) => ({ w, p })));
    const latencies: number[] = [];
    let failures = 0;
    const start = performance.now();
    await pool(jobs, 50, async ({ w, p }) => {
      const sent = performance.now();
      const r = await w.subscribe(p, { expires: 600 });
      if (r.response.status !== 200 || !r.sub) {
        failures++;
        return;
      }
      held.push({ w, sub: r.sub });
      const callId = r.sub.dialog.id.callId;
      if (!notified.has(callId)) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 10_000);
          waiting.set(callId, () => {
            clearTimeout(timer);
            resolve();
          });
        });
        waiting.delete(callId);
      }
      const at = notified.get(callId);
      if (at === undefined) failures++;
      else latencies.push(at - sent);
    });
    const seconds = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    const during = await hooks.whileHeld();
    return { setups: jobs.length, held: held.length, failures, seconds: +seconds.toFixed(3), perSecond: Math.round(jobs.length / seconds), p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), ...during };
  } finally {
    await pool(held, 50, async ({ w, sub }) => void (await w.resubscribe(sub, 0).catch(() => undefined)));
    await Promise.all(watchers.map((w) => w.close().catch(() => undefined)));
  }
}

// ---- targets ---------------------------------------------------------------------------------------

interface Figures {
  publish?: PublishResult;
  setup?: SetupResult;
  setupFirst?: SetupResult;
  "fanout-500"?: Record<string, number>;
  "fanout-5000"?: Record<string, number>;
  get?: Record<string, unknown> & { rps: number };
  put?: Record<string, unknown> & { rps: number };
}

interface Running {
  name: string;
  herald: boolean;
  /** only the fan-out (the production NOTIFY limit) */
  fanoutOnly?: boolean;
  sip: BenchTarget;
  xcap: XcapTarget;
  cpuMs(): number;
  heap?(): Promise<number>;
  /** Write a heap snapshot named after the target and `label` into --heap-snapshot's directory. */
  heapSnapshot?(label: string): Promise<void>;
  /** Start (`start`) / stop and write (`stop`) the --alloc-prof sampling allocation profile. */
  allocationProfile?(step: "start" | "stop", label: string): Promise<void>;
  memory(): Record<string, number>;
  stop(): Promise<void>;
}

/**
 * The load generator's own CPU over `fn` (near 1 means it, not the server, caps the rate), the server's,
 * and the other targets' (`othersCpuShare`: a target still busy after its own run, such as Kamailio
 * ending a fan-out's dialogs, takes CPU from the one measured). Before `fn` starts, every target is given
 * up to QUIET_WAIT_MS to fall idle (a quiet machine); `settledMs` says how long that took.
 */
async function withCpu<T>(r: Running, all: Running[], fn: () => Promise<T>): Promise<T & { loadCpuShare: number; serverCpuShare: number; othersCpuShare: number; settledMs: number }> {
  const others = all.filter((o) => o !== r);
  const settledMs = await settle(all);
  const cpu0 = process.cpuUsage();
  const server0 = r.cpuMs();
  const others0 = others.reduce((a, o) => a + o.cpuMs(), 0);
  const t0 = performance.now();
  const out = await fn();
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - t0;
  const share = (x: number) => +(x / ms).toFixed(2);
  return { ...out, loadCpuShare: share((cpu.user + cpu.system) / 1000), serverCpuShare: share(r.cpuMs() - server0), othersCpuShare: share(others.reduce((a, o) => a + o.cpuMs(), 0) - others0), settledMs };
}

const QUIET_WAIT_MS = 20_000;
/** wait (bounded) until the targets together use under 5 % of a core over 250 ms; the ms it took */
async function settle(all: Running[]): Promise<number> {
  const t0 = performance.now();
  const total = () => all.reduce((a, o) => a + o.cpuMs(), 0);
  while (performance.now() - t0 < QUIET_WAIT_MS) {
    const c0 = total();
    await sleep(250);
    if (total() - c0 < 0.05 * 250) break;
  }
  return Math.round(performance.now() - t0);
}

async function seedHerald(db: Parameters<NonNullable<Parameters<typeof startHerald>[0]["seed"]>>[0]): Promise<void> {
  await addDomain(db, DOMAIN);
  for (let i = 0; i < ACCOUNTS; i++) await addAccount(db, { address: `u${i}@${DOMAIN}`, password: PASSWORD });
}

async function startHeraldTarget(name: string, opts: { pg?: PgCluster; notifyIntervalMs: number; fanoutOnly?: boolean; root?: string }): Promise<Running> {
  const t0 = performance.now();
  const prof = stringArg("cpu-prof");
  let databaseUrl: string | undefined;
  if (opts.pg) {
    const db = `herald_bench_${Date.now()}`;
    opts.pg.createDatabase(db);
    databaseUrl = opts.pg.url(db);
  }
  const herald: HeraldProcess = await startHerald({
    nodeArgs: ["--inspect=127.0.0.1:0", ...(prof ? ["--cpu-prof", "--cpu-prof-dir", prof] : []), ...(flag("trace-gc") ? ["--trace-gc"] : []), ...(stringArg("node-args")?.split(" ").filter(Boolean) ?? [])],
    env: { SIP_NOTIFY_INTERVAL_MS: String(opts.notifyIntervalMs) },
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(opts.root ? { root: opts.root } : {}),
    ...(stringArg("server-log") ? { logFile: `${stringArg("server-log")}-${name.replace(/[^\w.-]+/g, "_")}.log` } : {}),
    seed: seedHerald,
  });
  const inspector = await connectInspector(herald.output);
  const rssAtStart = rssBytes(herald.pid);
  line({ target: name, bench: "start", sipPort: herald.sipPort, portal: herald.baseUrl, pid: herald.pid, accounts: ACCOUNTS, notifyIntervalMs: opts.notifyIntervalMs, startSeconds: +((performance.now() - t0) / 1000).toFixed(1) });
  const xcapOf = (user: string) => new XcapClient({ root: `${herald.baseUrl}/xcap-root`, xui: `sip:${user}@${DOMAIN}`, auth: { username: user, ha1: digestHa1(user, DOMAIN, PASSWORD) }, timeoutMs: 10_000 });
  return {
    name,
    herald: true,
    fanoutOnly: opts.fanoutOnly,
    sip: {
      name,
      host: "127.0.0.1",
      port: herald.sipPort,
      domain: DOMAIN,
      account: (i) => ({ user: `u${i}`, password: PASSWORD }),
      // each presentity's own pres-rules over XCAP (digest), as a user's client writes them
      async allowAll(presentities, watchers) {
        const rules = presRulesXml([{ id: "bench-allow", identities: watchers, subHandling: "allow" }]);
        await pool(presentities, 5, async (p) => void (await xcapOf(/^sip:([^@]+)@/.exec(p)![1]!).putDocument("pres-rules", "index", rules)));
      },
    },
    xcap: { root: `${herald.baseUrl}/xcap-root`, user: "u0", ha1: digestHa1("u0", DOMAIN, PASSWORD), wildcard: "*" },
    cpuMs: () => cpuMsOf([herald.pid]),
    heap: () => heapAfterGc(inspector),
    async allocationProfile(step, label) {
      const dir = stringArg("alloc-prof");
      if (!dir) return;
      if (step === "start") {
        await inspector.call("HeapProfiler.enable");
        await inspector.call("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      } else {
        const { profile } = await inspector.call<{ profile: unknown }>("HeapProfiler.stopSampling");
        writeFileSync(path.join(dir, `${name.replace(/[^\w.-]+/g, "_")}-${label}.heapprofile`), JSON.stringify(profile));
      }
    },
    async heapSnapshot(label) {
      const dir = stringArg("heap-snapshot");
      if (dir) await writeHeapSnapshot(inspector, path.join(dir, `${name.replace(/[^\w.-]+/g, "_")}-${label}.heapsnapshot`));
    },
    memory: () => ({ rssAtStart, rss: rssBytes(herald.pid) }),
    async stop() {
      inspector.close();
      await herald.stop();
    },
  };
}

async function startKamailioTarget(): Promise<Running> {
  const children = num("kamailio-children", 4);
  const t0 = performance.now();
  // 1 GiB of shm: the fan-out's NOTIFY transactions exhaust the harness's default 256 MB
  const k: KamailioServer = await startKamailio({ domain: DOMAIN, children, authephSecret: false, shmMb: num("kamailio-shm-mb", 1024) });
  try {
    const sip = await kamailioBenchTarget(k, { count: ACCOUNTS, password: PASSWORD });
    const pssAtStart = kamailioMemoryBytes(k);
    line({ target: KAMAILIO, bench: "start", children, startSeconds: +((performance.now() - t0) / 1000).toFixed(1), note: "presence + presence_xml + xcap_server, auth_db on PostgreSQL (fsync off)" });
    return {
      name: KAMAILIO,
      herald: false,
      sip,
      xcap: { root: k.xcapRoot, user: "u0", ha1: k.ha1("u0"), wildcard: '"*"' },
      cpuMs: () => cpuMsOf(processTree(k.pid)),
      memory: () => ({ pssAtStart, pss: kamailioMemoryBytes(k) }),
      stop: () => k.stop(),
    };
  } catch (e) {
    await k.stop();
    throw e;
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  line({ bench: "deployed", node: process.version, cpus: cpus().length, dbs: DBS, rate: RATE, seconds: SECONDS, presentities: PRESENTITIES, xcapSeconds: XCAP_SECONDS, concurrency: CONCURRENCY, contacts: CONTACTS, loadavg: readFileSync("/proc/loadavg", "utf8").trim() });
  const running: Running[] = [];
  const figures = new Map<string, Figures>();
  let pg: PgCluster | undefined;
  try {
    if (DBS.includes("sqlite")) running.push(await startHeraldTarget("herald start (sqlite)", { notifyIntervalMs: 0 }));
    // --before=DIR: another built checkout (an earlier commit) on SQLite, for before/after figures
    const before = stringArg("before");
    if (before) running.push(await startHeraldTarget(`herald start (sqlite) before: ${gitRev(before)}`, { notifyIntervalMs: 0, root: before }));
    if (DBS.includes("postgresql")) {
      pg = await startPostgres();
      running.push(await startHeraldTarget("herald start (postgresql)", { pg, notifyIntervalMs: 0 }));
    }
    if (runs("fanout") && !flag("no-production-limit")) running.push(await startHeraldTarget("herald start (sqlite, SIP_NOTIFY_INTERVAL_MS=1000)", { notifyIntervalMs: 1000, fanoutOnly: true }));
    if (flag("no-kamailio")) line({ bench: "deployed-skip", target: KAMAILIO, reason: "--no-kamailio" });
    else if (!kamailioAvailable()) line({ bench: "deployed-skip", target: KAMAILIO, reason: "Kamailio or its presence/xcap modules not installed" });
    else running.push(await startKamailioTarget());
    for (const r of running) figures.set(r.name, {});
    const measured = running.filter((r) => !r.fanoutOnly);

    if (runs("publish")) for (const r of measured) {
      const p = await withCpu(r, running, () => publishAtRate(r.sip));
      figures.get(r.name)!.publish = p;
      line({ target: r.name, bench: "publish", presentities: PRESENTITIES, transport: "tcp, one connection per UA, digest", ...p });
    }
    if (runs("setup")) for (const r of measured) {
      // The same setups once before the measure, ended again: the first subscriptions after start
      // meet cold caches (each presentity's rules parsed, the code compiled), a running server's
      // do not (watchers refresh and resubscribe). Printed on their own, labelled.
      const first = await withCpu(r, running, () => setupRate(r.sip, { whileHeld: async () => ({}) }));
      figures.get(r.name)!.setupFirst = first;
      line({ target: r.name, bench: "setup-first-after-start", watchers: SETUP_WATCHERS, presentities: SETUP_PRESENTITIES, inFlight: 50, ...first });
      const timed = await withCpu(r, running, () =>
        setupRate(r.sip, {
          connected: async () => {
            await r.allocationProfile?.("start", "setup");
          },
          whileHeld: async () => {
            await r.allocationProfile?.("stop", "setup");
            return {};
          },
        }),
      );
      // The heap per held subscription in a third round, not timed (the inspector's full collections
      // shrink V8's young generation, and a timed round right after them would pay for that in
      // scavenges no running server makes), with the code the setups run already compiled: V8's
      // machine code for the SUBSCRIBE path (~1.3 MB, built once) is no per-subscription cost. Other
      // presentities than the timed rounds': what a subscription leaves behind once it ended (the
      // watcher-info record of the pair) must not be in the heap before.
      let heapBefore: number | undefined;
      const heap = r.heap
        ? await setupRate(r.sip, {
            connected: async () => {
              heapBefore = await r.heap?.();
              await r.heapSnapshot?.("connected");
            },
            whileHeld: async () => {
              if (!r.heap || heapBefore === undefined) return {};
              const heapHeld = await r.heap();
              await r.heapSnapshot?.("held");
              return { heapBefore, heapHeld, heapPerSubscriptionBytes: Math.round((heapHeld - heapBefore) / (SETUP_WATCHERS * SETUP_PRESENTITIES)) };
            },
          }, HEAP_PRESENTITIES_FIRST)
        : undefined;
      const s = { ...timed, ...(heap ? { heapBefore: heap.heapBefore, heapHeld: heap.heapHeld, heapPerSubscriptionBytes: heap.heapPerSubscriptionBytes } : {}) };
      figures.get(r.name)!.setup = s;
      line({ target: r.name, bench: "setup", watchers: SETUP_WATCHERS, presentities: SETUP_PRESENTITIES, inFlight: 50, ...s });
    }
    if (runs("fanout")) for (const [key, publishRate] of [["fanout-500", 20], ["fanout-5000", 200]] as const) {
      for (const r of running) {
        const rounds = Math.max(2, Math.round((4 * publishRate) / FANOUT_P)); // about 4 s of PUBLISHes
        const f = await withCpu(r, running, () => fanout(r.sip, { presentities: FANOUT_P, watchers: FANOUT_W, rounds, ratePerSecond: publishRate, firstUser: FANOUT_FIRST, unsubscribe: true }));
        figures.get(r.name)![key] = f;
        line({ target: r.name, bench: key, notifiesOfferedPerSecond: publishRate * FANOUT_W, ...f, cpuNote: "includes setting up the P×W subscriptions" });
      }
    }
    if (runs("xcap")) {
      for (const r of measured) {
        await prepareXcap(r.name, r.xcap);
        line({ target: r.name, bench: "xcap-setup", documentBytes: Buffer.byteLength(documentXml), entries: CONTACTS });
      }
      for (const op of ["get", "put"] as const) {
        for (const r of measured) {
          await r.allocationProfile?.("start", `xcap-${op}`);
          const x = await withCpu(r, running, () => xcapOp(r.xcap, op));
          await r.allocationProfile?.("stop", `xcap-${op}`);
          figures.get(r.name)![op] = x;
          line({ target: r.name, bench: `xcap-${op}-document`, ...x });
        }
      }
    }
    for (const r of measured) {
      const before = r.memory();
      const heap = r.heap ? await r.heap() : undefined;
      await sleep(500);
      const after = r.memory();
      const out: Record<string, unknown> = { target: r.name, bench: "memory", ...before };
      if (heap !== undefined) Object.assign(out, { heapAfterGc: heap, rssAfterGc: after.rss, rssAfterGcVsStart: +(after.rss! / after.rssAtStart!).toFixed(2) });
      line(out);
    }
  } finally {
    for (const r of running.reverse()) await r.stop().catch((e: unknown) => line({ bench: "deployed-cleanup-error", target: r.name, error: String(e) }));
    await pg?.stop();
  }
  const k = figures.get(KAMAILIO);
  if (k) {
    const ratio = (a: number | undefined, b: number | undefined) => (a && b ? +(a / b).toFixed(2) : null);
    for (const [name, h] of figures) {
      if (name === KAMAILIO) continue;
      for (const [measure, hv, kv, higherIsBetter] of [
        ["publish_per_second", h.publish?.perSecond, k.publish?.perSecond, true],
        ["publish_p50_ms", h.publish?.p50Ms, k.publish?.p50Ms, false],
        ["publish_p99_ms", h.publish?.p99Ms, k.publish?.p99Ms, false],
        ["setups_per_second", h.setup?.perSecond, k.setup?.perSecond, true],
        ["setup_p99_ms", h.setup?.p99Ms, k.setup?.p99Ms, false],
        ["first_setups_after_start_per_second", h.setupFirst?.perSecond, k.setupFirst?.perSecond, true],
        ["first_setup_after_start_p99_ms", h.setupFirst?.p99Ms, k.setupFirst?.p99Ms, false],
        ["fanout_500_p99_ms", h["fanout-500"]?.latencyP99Ms, k["fanout-500"]?.latencyP99Ms, false],
        ["fanout_5000_p99_ms", h["fanout-5000"]?.latencyP99Ms, k["fanout-5000"]?.latencyP99Ms, false],
        ["xcap_get_document_rps", h.get?.rps, k.get?.rps, true],
        ["xcap_put_document_rps", h.put?.rps, k.put?.rps, true],
      ] as Array<[string, number | undefined, number | undefined, boolean]>) {
        if (hv === undefined || kv === undefined) continue;
        line({ bench: "deployed-ratio", target: name, vs: KAMAILIO, measure, herald: hv, kamailio: kv, ratio: ratio(hv, kv), higherIsBetter });
      }
    }
  }
  line({ bench: "deployed-done", totalSeconds: +((performance.now() - t0) / 1000).toFixed(1), loadavg: readFileSync("/proc/loadavg", "utf8").trim() });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e) + "\n");
    process.exit(1);
  },
);
