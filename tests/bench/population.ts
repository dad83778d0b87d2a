/**
 * Population benchmark (issue 13 item 3): one `herald start` (tests/helpers/herald-process.ts, the
 * `npm start` entry point, NODE_ENV=production, production limits) holding a population of users as
 * they use it. Prints JSON lines (progress included); figures, never assertions.
 *
 *   npm run bench -- population [--accounts=10000] [--contacts=50] [--online-share=0.2]
 *        [--db=sqlite|postgresql] [--idle-seconds=30] [--concurrency=100] [--arrivals-per-second=0] [--timeout-seconds=180] [--seed-workers=2]
 *        [--max-minutes=10] [--server-log=FILE] [--server-heap-mb=N] [--heap-profile=FILE]
 *
 * - --accounts accounts, each with a --contacts-entry Blink-style address book (resource-lists,
 *   rls-services and OMA pres-rules as the portal writes them; tests/bench/population-seed.ts),
 *   seeded straight into the database (SQLite in the data directory, or a private PostgreSQL); the
 *   documents are built by --seed-workers worker threads.
 * - --online-share of them (spread evenly: about that share of each user's buddies is online too)
 *   come online THROUGH THE BRIDGE as the portal's page does: a WebSocket to /sip with a portal
 *   session cookie (signed with the AUTH_SECRET Herald runs with), then over it REGISTER, PUBLISH
 *   (open), SUBSCRIBE to their buddy list (sip:<user>+presence@<domain>, RFC 4662 eventlist) and to
 *   their watcher info (presence.winfo). Raw SIP over ws (tests/helpers/bridge-client.ts), all in
 *   this process, --concurrency users coming online at a time. The WebSockets come from
 *   127.0.x.y addresses, 50 per address, so the bridge's per-address limit stays at its default.
 * - Figures: `population.start` (RSS, V8 heap after a full GC through the inspector),
 *   `population.online` (time to bring everyone online and until every list subscription has full
 *   state; RSS and heap after GC with everyone online), `population.idle` (the server's CPU share
 *   of one core over --idle-seconds while everyone is online and nothing changes, and the NOTIFYs
 *   sent meanwhile), `population.restart` (SIGTERM, `herald start` again on the same data and
 *   ports; every client, its WebSocket gone, reconnects once the portal listens — all at once, as
 *   pages whose reconnect timer fires; a failed connect is tried again with JsSIP's back-off,
 *   counted as `connectRetries` — and registers, publishes and subscribes again: time until
 *   every list subscription has had a full-state NOTIFY carrying every member's state, and until
 *   every online buddy shows open in it), then the memory after the restart; `stormPeak…`: the
 *   restarted process's largest V8 heap in use (garbage included, sampled every 500 ms) and RSS
 *   during the storm. --heap-profile=FILE writes a sampling heap profile (DevTools .heapprofile)
 *   of the restarted process, after a full GC, at each 10 % step up of its heap in the storm (the
 *   last is the peak's): what the storm holds, by allocation stack. --server-heap-mb=N caps
 *   Herald's V8 old space (node --max-old-space-size) to find the limit sooner.
 * Bounded: past half of --max-minutes no further user is brought online (`skippedOverBudget`; the
 * rest of the run goes on with those online, and they all reconnect after the restart) and every
 * wait for full state is cut to what is left of the budget.
 * `serverCpu…`: Herald's own CPU time for a phase — comparable across runs on a busy machine, where
 * the seconds are not.
 * `loadCpuShare`: this process's CPU as a share of one core (near 1: the load generator caps the
 * figure, not the server).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import type WebSocket from "ws";
import { numberArg, stringArg } from "./args";
import { addressBookDocuments, contactsOf, seedPopulation, userName } from "./population-seed";
import { connectInspector, cpuMsOf, heapAfterGc, rssBytes, type Inspector } from "./process-stats";
import { startHerald, type HeraldProcess } from "../helpers/herald-process";
import { startPostgres, type PgCluster } from "../helpers/postgres";
import { freePort } from "../helpers/ports";
import { bridgeSessionCookie, connectBridged, openBridgeSocket } from "../helpers/bridge-client";
import { pidf, type SipTestClient } from "../helpers/sip-client";
import { waitFor } from "../helpers/wait";
import { parseMultipartRelated, partText } from "../../lib/presence";
import type { SipRequest } from "../../lib/sip";

const ACCOUNTS = numberArg("accounts", 10_000);
const CONTACTS = numberArg("contacts", 50);
const ONLINE_SHARE = numberArg("online-share", 0.2);
const IDLE_SECONDS = numberArg("idle-seconds", 30);
const CONCURRENCY = numberArg("concurrency", 100);
/** Users starting to come online per second (0: as fast as --concurrency allows); spreads arrivals over time without load. */
const ARRIVALS_PER_SECOND = numberArg("arrivals-per-second", 0);
const TIMEOUT_MS = numberArg("timeout-seconds", 180) * 1000;
const DB = stringArg("db") ?? "sqlite";
const SEED_WORKERS = numberArg("seed-workers", 2);
/** The whole run's budget: users not yet online when it runs out are skipped, waits are cut short. */
const BUDGET_MS = numberArg("max-minutes", 10) * 60_000;
const budgetLeft = () => BUDGET_MS - (performance.now() - t0);
const DOMAIN = "example.test";
const PASSWORD = "Population-pass1";
const AUTH_SECRET = "population-bench-auth-secret-0123456789abcdef";
const PER_ADDRESS = 50;
/** Herald's own output (its log lines) appended to this file, when given. */
const SERVER_LOG = stringArg("server-log");
/** Herald's V8 old-space limit (node --max-old-space-size), MB; default node's own. */
const SERVER_HEAP_MB = numberArg("server-heap-mb", 0);
/**
 * A sampling heap profile (.heapprofile, for DevTools) of the restarted Herald, written again at
 * every new peak of its heap in the reconnect storm: what holds the memory there, by allocation stack.
 */
const HEAP_PROFILE = stringArg("heap-profile");
const serverNodeArgs = ["--inspect=127.0.0.1:0", ...(SERVER_HEAP_MB > 0 ? [`--max-old-space-size=${SERVER_HEAP_MB}`] : [])];

const t0 = performance.now();
const seconds = (from: number) => +((performance.now() - from) / 1000).toFixed(2);
function line(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ ...o, at: seconds(t0) }) + "\n");
}

/** Evenly spread: user i is online when ⌊i·share⌋ steps. */
const isOnline = (i: number) => Math.floor((i + 1) * ONLINE_SHARE) !== Math.floor(i * ONLINE_SHARE);

/** One online user: their connection, and what their buddy-list subscription shows. */
interface User {
  i: number;
  aor: string;
  cookie: string;
  localAddress: string;
  ws?: WebSocket;
  ua?: SipTestClient;
  etag?: string;
  rlsCallId?: string;
  /** Members' last states in the current list subscription: instance present, PIDF open. */
  members: Map<string, { open: boolean }>;
  onlineBuddies: Set<string>;
  /** When the current subscription had a full-state NOTIFY with every member (performance.now). */
  fullAt?: number;
  /** When, after that, every online buddy showed open. */
  currentAt?: number;
  notifies: number;
  /** When the current list subscription's last NOTIFY arrived, and its Subscription-State. */
  lastNotifyAt?: number;
  lastListState?: string;
  /** Not brought online: the run's budget (--max-minutes) ran short. */
  skipped?: boolean;
}

const users: User[] = [];
let notifiesReceived = 0;
/** Users skipped over the budget: never online, so no list waits for them to show open. */
const skippedAors = new Set<string>();
const showsEveryOnlineBuddy = (u: User) => [...u.onlineBuddies].every((b) => skippedAors.has(b) || u.members.get(b)?.open);

function onNotify(u: User, n: SipRequest): void {
  notifiesReceived++;
  u.notifies++;
  if (n.callId !== u.rlsCallId) return;
  u.lastListState = n.getHeader("Subscription-State");
  const ct = n.getHeader("Content-Type");
  if (!ct || !/^multipart\/related/i.test(ct)) return;
  let m;
  try {
    m = parseMultipartRelated(ct, n.body);
  } catch {
    return;
  }
  if (!m.rlmi) return;
  if (m.rlmi.fullState) u.members.clear();
  for (const r of m.rlmi.resources) {
    if (!r.instances.length) continue;
    // open when any instance is active with an open PIDF (a resource may list several, RFC 4662 §5.2)
    const open = r.instances.some((inst) => {
      const part = inst.state === "active" && inst.cid ? m.byContentId.get(inst.cid) : undefined;
      return !!part && /basic>\s*open\s*</.test(partText(part));
    });
    u.members.set(r.uri, { open });
  }
  const now = performance.now();
  if (m.rlmi.fullState && u.fullAt === undefined && u.members.size >= CONTACTS) u.fullAt = now;
  u.lastNotifyAt = now;
  if (u.fullAt !== undefined && u.currentAt === undefined && showsEveryOnlineBuddy(u)) u.currentAt = now;
}

/** WebSocket connects tried again (`reconnect`), and why they failed (digits folded). */
const retried = { connects: 0, errors: {} as Record<string, number> };

/**
 * The page's WebSocket. Reconnecting (`reconnect`), a failed connect is tried again as JsSIP's
 * transport recovery does — attempt n waits ⌊rand·2ⁿ + 1⌋ s, within [2, 30] (the page's
 * connection_recovery_min/max_interval) — while the budget lasts.
 */
async function openPageSocket(h: HeraldProcess, u: User, reconnect: boolean): Promise<WebSocket> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openBridgeSocket(h.baseUrl, u.cookie, u.localAddress);
    } catch (e) {
      if (!reconnect || budgetLeft() < 60_000) throw e;
      retried.connects++;
      const kind = ((e as Error).message ?? String(e)).replace(/\d+/g, "N").slice(0, 80);
      retried.errors[kind] = (retried.errors[kind] ?? 0) + 1;
      const k = Math.min(30, Math.max(2, Math.floor(Math.random() * 2 ** attempt + 1)));
      await new Promise((r) => setTimeout(r, k * 1000));
    }
  }
}

/** Connect through the bridge and do what the page does on coming online. */
async function comeOnline(h: HeraldProcess, u: User, reconnect = false): Promise<void> {
  u.members.clear();
  u.fullAt = u.currentAt = u.lastNotifyAt = undefined;
  u.rlsCallId = undefined;
  u.ws = await openPageSocket(h, u, reconnect);
  const ua = await connectBridged(u.ws, { user: userName(u.i), domain: DOMAIN, password: PASSWORD, timeoutMs: 60_000, keepReceived: false, preemptiveAuth: true, onRequest: (r) => r.method === "NOTIFY" && onNotify(u, r) });
  u.ua = ua;
  const reg = await ua.register(600);
  if (reg.status !== 200) throw new Error(`REGISTER ${u.aor}: ${reg.status}`);
  const pub = await ua.publish(pidf(u.aor, "open", "online"));
  if (pub.status !== 200) throw new Error(`PUBLISH ${u.aor}: ${pub.status}`);
  u.etag = pub.getHeader("SIP-ETag");
  // the list subscription's Call-ID is known once the SUBSCRIBE is built; NOTIFYs may beat the 200
  const service = `sip:${userName(u.i)}+presence@${DOMAIN}`;
  const build = ua.build.bind(ua);
  ua.build = (method, uri, opts) => {
    const req = build(method, uri, opts);
    if (method === "SUBSCRIBE" && uri === service) u.rlsCallId = req.callId;
    return req;
  };
  const rls = await ua.subscribe(service, { expires: 600, headers: [["Supported", "eventlist"], ["Accept", "multipart/related, application/rlmi+xml, application/pidf+xml"]] });
  ua.build = build;
  if (rls.response.status !== 200) throw new Error(`SUBSCRIBE ${service}: ${rls.response.status}`);
  const winfo = await ua.subscribe(u.aor, { event: "presence.winfo", expires: 600 });
  if (winfo.response.status !== 200) throw new Error(`SUBSCRIBE winfo ${u.aor}: ${winfo.response.status}`);
}

async function pool<T>(items: T[], concurrency: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** Everyone through `fn`, with a progress line about every 5 s; failures counted (first one kept). */
async function everyone(what: string, concurrency: number, reserveMs: number, fn: (u: User) => Promise<void>, perSecond = 0): Promise<{ failures: number; skippedOverBudget: number; firstError?: string; errors?: Record<string, number> }> {
  let done = 0;
  let failures = 0;
  let skipped = 0;
  let firstError: string | undefined;
  /** Failures by message (digits folded), so that different causes show apart. */
  const errors: Record<string, number> = {};
  const timer = setInterval(() => line({ bench: "population.progress", what, done, of: users.length, failures, fullState: users.filter((u) => u.fullAt !== undefined).length }), 5000);
  const start = performance.now();
  let started = 0;
  try {
    await pool(users, concurrency, async (u) => {
      if (perSecond > 0) {
        const at = start + (started++ * 1000) / perSecond;
        if (at > performance.now()) await new Promise((r) => setTimeout(r, at - performance.now()));
      }
      // keep a reserve of the budget for the rest of the run
      if (budgetLeft() < reserveMs) {
        skipped++;
        u.skipped = true;
        u.fullAt = u.currentAt = undefined;
        skippedAors.add(u.aor);
        return;
      }
      try {
        await fn(u);
      } catch (e) {
        failures++;
        firstError ??= (e as Error).message;
        const kind = ((e as Error).message ?? String(e)).replace(/\d+/g, "N").slice(0, 80);
        errors[kind] = (errors[kind] ?? 0) + 1;
      }
      done++;
    });
  } finally {
    clearInterval(timer);
  }
  // lists that waited only for skipped buddies were current at their last NOTIFY
  for (const u of users) if (u.fullAt !== undefined && u.currentAt === undefined && showsEveryOnlineBuddy(u)) u.currentAt = u.lastNotifyAt;
  return { failures, skippedOverBudget: skipped, ...(firstError ? { firstError, errors } : {}) };
}

/** Wait (bounded) until every user's list has full state and shows every online buddy open. */
async function converged(what: string): Promise<{ fullStateUsers: number; currentUsers: number; timedOut: boolean }> {
  const timer = setInterval(() => line({ bench: "population.progress", what, fullState: users.filter((u) => u.fullAt !== undefined).length, current: users.filter((u) => u.currentAt !== undefined).length, of: users.length }), 5000);
  let timedOut = false;
  try {
    await waitFor(() => users.every((u) => u.skipped || u.currentAt !== undefined), { timeoutMs: Math.max(1000, Math.min(TIMEOUT_MS, budgetLeft() - 60_000)), intervalMs: 50, what });
  } catch {
    timedOut = true;
    // which lists are behind, and on what: a buddy missing from the list's state, or not open in it
    const stuck = users.filter((u) => !u.skipped && u.currentAt === undefined);
    line({
      bench: "population.stuck",
      what,
      lists: stuck.length,
      sample: stuck.slice(0, 5).map((u) => ({
        user: u.aor,
        fullState: u.fullAt !== undefined,
        members: u.members.size,
        notifies: u.notifies,
        lastListState: u.lastListState,
        lastListNotifySecondsAgo: u.lastNotifyAt === undefined ? null : seconds(u.lastNotifyAt),
        connection: u.ua?.closed === false ? "open" : "closed",
        buddiesNotOpen: [...u.onlineBuddies].filter((b) => !skippedAors.has(b) && !u.members.get(b)?.open).map((b) => `${b} (${u.members.has(b) ? "not open" : "absent"})`),
      })),
    });
  } finally {
    clearInterval(timer);
  }
  return { fullStateUsers: users.filter((u) => u.fullAt !== undefined).length, currentUsers: users.filter((u) => u.currentAt !== undefined).length, timedOut };
}

const lastOf = (pick: (u: User) => number | undefined, from: number) => {
  const xs = users.map(pick).filter((x): x is number => x !== undefined);
  return xs.length ? +((Math.max(...xs) - from) / 1000).toFixed(2) : null;
};

async function memory(h: HeraldProcess, inspector: Inspector): Promise<{ rssBytes: number; heapAfterGcBytes: number }> {
  const heap = await heapAfterGc(inspector);
  return { rssBytes: rssBytes(h.pid), heapAfterGcBytes: heap };
}

/**
 * The heap's peak (V8 used size, sampled every 500 ms through the inspector, and RSS) while the
 * reconnect storm runs; with --heap-profile, a sampling heap profile written at each new peak.
 */
function watchHeapPeak(inspector: Inspector): { stop(): Promise<{ stormPeakHeapBytes: number; stormPeakRssBytes: number; stormPeakAtSeconds: number }> } {
  const start = performance.now();
  let peakHeap = 0;
  let peakRss = 0;
  let peakAt = 0;
  let written = 0;
  let running = true;
  const sampling = HEAP_PROFILE ? inspector.call("HeapProfiler.startSampling", { samplingInterval: 64 * 1024 }) : Promise.resolve({});
  const loop = (async () => {
    await sampling;
    while (running) {
      const { usedSize } = await inspector.call<{ usedSize: number }>("Runtime.getHeapUsage");
      peakRss = Math.max(peakRss, rssBytes(pidOf()));
      if (usedSize > peakHeap) {
        peakHeap = usedSize;
        peakAt = seconds(start);
        // a profile at each 10 % step up (the last one is the peak's)
        if (HEAP_PROFILE && usedSize > written * 1.1) {
          written = usedSize;
          // only what survives a full collection: the profile's samples of garbage go with it
          const live = await heapAfterGc(inspector);
          const { profile } = await inspector.call<{ profile: unknown }>("HeapProfiler.getSamplingProfile");
          writeFileSync(HEAP_PROFILE, JSON.stringify(profile));
          line({ bench: "population.progress", what: "heap profile written", heapBytes: usedSize, heapAfterGcBytes: live, file: HEAP_PROFILE });
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })().catch((e: unknown) => line({ bench: "population.progress", what: "heap watch ended", error: String(e) }));
  return {
    async stop() {
      running = false;
      await loop;
      if (HEAP_PROFILE) await inspector.call("HeapProfiler.stopSampling").catch(() => undefined);
      return { stormPeakHeapBytes: peakHeap, stormPeakRssBytes: peakRss, stormPeakAtSeconds: peakAt };
    },
  };
}
let pidOf = (): number => NaN;

/** Until no NOTIFY has arrived for `quietMs` (bounded by `maxMs`): the fan-out of coming online has settled. */
async function quiet(quietMs: number, maxMs: number): Promise<void> {
  const end = performance.now() + maxMs;
  let last = notifiesReceived;
  let since = performance.now();
  while (performance.now() < end && performance.now() - since < quietMs) {
    await new Promise((r) => setTimeout(r, 100));
    if (notifiesReceived !== last) {
      last = notifiesReceived;
      since = performance.now();
    }
  }
}

/**
 * Bring every user online through `h` (`what`), then wait for their lists' full state; the common
 * figures: seconds from `from` to the last full state / last list showing every online buddy open,
 * Herald's CPU time over the phase, this process's CPU share.
 */
async function onlinePhase(h: HeraldProcess, what: string, concurrency: number, reserveMs: number, from = performance.now(), perSecond = 0, reconnect = false): Promise<Record<string, unknown>> {
  const cpu0 = process.cpuUsage();
  const server0 = cpuMsOf([h.pid]);
  const start = performance.now();
  const came = await everyone(what, concurrency, reserveMs, (u) => comeOnline(h, u, reconnect), perSecond);
  const setupSeconds = seconds(start);
  const conv = await converged(`full state: ${what}`);
  const load = process.cpuUsage(cpu0);
  const serverMs = cpuMsOf([h.pid]) - server0;
  return {
    users: users.length,
    ...came,
    setupSeconds,
    allFullStateSeconds: lastOf((u) => u.fullAt, from),
    allCurrentSeconds: lastOf((u) => u.currentAt, from),
    ...conv,
    serverCpuSeconds: +(serverMs / 1000).toFixed(1),
    serverCpuMsPerUser: Math.round(serverMs / Math.max(1, users.filter((u) => !u.skipped).length)),
    loadCpuShare: +((load.user + load.system) / 1000 / (performance.now() - start)).toFixed(2),
  };
}

async function main(): Promise<void> {
  const online = Array.from({ length: ACCOUNTS }, (_, i) => i).filter(isOnline);
  line({ bench: "population", accounts: ACCOUNTS, contacts: CONTACTS, onlineShare: ONLINE_SHARE, online: online.length, db: DB, idleSeconds: IDLE_SECONDS, concurrency: CONCURRENCY, arrivalsPerSecond: ARRIVALS_PER_SECOND, node: process.version, cpus: cpus().length, loadavg: readFileSync("/proc/loadavg", "utf8").trim() });
  let pg: PgCluster | undefined;
  let databaseUrl: string | undefined;
  if (DB === "postgresql") {
    pg = await startPostgres();
    pg.createDatabase("herald_population");
    databaseUrl = pg.url("herald_population");
  } else if (DB !== "sqlite") throw new Error(`--db must be sqlite or postgresql, not ${DB}`);
  // fixed ports: the public XCAP root written into the documents, and the same address after the restart
  const port = await freePort();
  const sipPort = await freePort();
  const xcapRoot = `http://localhost:${port}/xcap-root`;
  const env = { AUTH_SECRET, PORT: String(port) };
  let ids: number[] = [];
  let herald: HeraldProcess | undefined;
  try {
    const seedStart = performance.now();
    herald = await startHerald({
      nodeArgs: serverNodeArgs,
      env,
      sipPort,
      ...(SERVER_LOG ? { logFile: SERVER_LOG } : {}),
      ...(databaseUrl ? { databaseUrl } : {}),
      seed: async (db) => {
        ids = await seedPopulation(db, { accounts: ACCOUNTS, contacts: CONTACTS, domain: DOMAIN, password: PASSWORD, xcapRoot, workers: SEED_WORKERS }, (done) => {
          if (done % 2000 === 0 || done === ACCOUNTS) line({ bench: "population.progress", what: "seeding", done, of: ACCOUNTS });
        });
      },
    });
    const documentBytes = addressBookDocuments(0, { accounts: ACCOUNTS, contacts: CONTACTS, domain: DOMAIN, xcapRoot }).reduce((n, d) => n + Buffer.byteLength(d.content), 0);
    let inspector = await connectInspector(herald.output);
    line({ bench: "population.start", seedAndStartSeconds: seconds(seedStart), serverCpuSecondsToListen: +(cpuMsOf([herald.pid]) / 1000).toFixed(1), addressBookBytesPerUser: documentBytes, pid: herald.pid, ...(await memory(herald, inspector)) });

    for (const [k, i] of online.entries()) {
      const aor = `sip:${userName(i)}@${DOMAIN}`;
      users.push({
        i,
        aor,
        cookie: await bridgeSessionCookie(ids[i]!, `${userName(i)}@${DOMAIN}`, AUTH_SECRET),
        localAddress: `127.0.${1 + Math.floor(k / PER_ADDRESS / 250)}.${1 + (Math.floor(k / PER_ADDRESS) % 250)}`,
        members: new Map(),
        onlineBuddies: new Set(contactsOf(i, ACCOUNTS, CONTACTS).filter(isOnline).map((j) => `sip:${userName(j)}@${DOMAIN}`)),
        notifies: 0,
      });
    }

    // ---- everyone online
    line({ bench: "population.online", ...(await onlinePhase(herald, "coming online", CONCURRENCY, BUDGET_MS / 2, performance.now(), ARRIVALS_PER_SECOND)) });
    await quiet(3000, 60_000);
    line({ bench: "population.memory", when: "everyone online", online: users.length, ...(await memory(herald, inspector)) });

    // ---- idle: nobody changes anything
    const idleNotifies0 = notifiesReceived;
    const serverCpu0 = cpuMsOf([herald.pid]);
    const loadCpu0 = process.cpuUsage();
    const idleStart = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const idleMs = performance.now() - idleStart;
    const idleLoad = process.cpuUsage(loadCpu0);
    line({
      bench: "population.idle",
      seconds: +(idleMs / 1000).toFixed(1),
      serverCpuShare: +((cpuMsOf([herald.pid]) - serverCpu0) / idleMs).toFixed(3),
      notifiesDuringIdle: notifiesReceived - idleNotifies0,
      loadCpuShare: +((idleLoad.user + idleLoad.system) / 1000 / idleMs).toFixed(3),
      unit: "share of one core",
    });

    // ---- restart with live watchers
    inspector.close();
    const restartStart = performance.now();
    const dataDir = herald.dataDir;
    await herald.kill("SIGTERM");
    const stoppedSeconds = seconds(restartStart);
    await waitFor(() => users.every((u) => u.ua?.closed !== false), { timeoutMs: 30_000, what: "clients to see their connections drop" }).catch(() => undefined);
    herald = await startHerald({ nodeArgs: serverNodeArgs, env, sipPort, dataDir, ...(SERVER_LOG ? { logFile: SERVER_LOG } : {}), startTimeoutMs: Math.max(TIMEOUT_MS, 300_000), ...(databaseUrl ? { databaseUrl } : {}) });
    const readySeconds = seconds(restartStart);
    const listenCpuMs = cpuMsOf([herald.pid]);
    inspector = await connectInspector(herald.output);
    const restarted = herald;
    pidOf = () => restarted.pid;
    for (const u of users) u.ws?.terminate();
    for (let k = users.length - 1; k >= 0; k--) if (users[k]!.skipped) users.splice(k, 1);
    // every page at once (its reconnect timer fired), each then registers, publishes and subscribes
    const reconnectStart = performance.now();
    const peak = watchHeapPeak(inspector);
    const back = await onlinePhase(herald, "reconnecting after the restart", users.length, 0, reconnectStart, 0, true);
    const stormHeap = await peak.stop();
    line({
      bench: "population.restart",
      stopSeconds: stoppedSeconds,
      listeningAgainSeconds: readySeconds,
      serverCpuSecondsToListen: +(listenCpuMs / 1000).toFixed(1),
      ...back,
      ...stormHeap,
      connectRetries: retried.connects,
      ...(retried.connects ? { connectRetryErrors: retried.errors } : {}),
      fromStopAllFullStateSeconds: lastOf((u) => u.fullAt, restartStart),
      fromStopAllCurrentSeconds: lastOf((u) => u.currentAt, restartStart),
      note: "seconds from the reconnect (the new process listening) unless fromStop; full state: a full-state NOTIFY with every member; current: every online buddy open",
    });
    await quiet(3000, 60_000);
    line({ bench: "population.memory", when: "everyone online again after the restart", online: users.length, ...(await memory(herald, inspector)) });
    inspector.close();
  } finally {
    for (const u of users) u.ws?.terminate();
    await herald?.stop();
    await pg?.stop();
  }
  line({ bench: "population.done", totalSeconds: seconds(t0), loadavg: readFileSync("/proc/loadavg", "utf8").trim() });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e) + "\n");
    process.exit(1);
  },
);
