/**
 * Deployed-Herald benchmark (issue 13, first slice): Herald as users run it — `herald start` (the
 * `npm start` entry point, `node --import tsx lib/cli/main.ts start`, NODE_ENV=production, its
 * default SQLite in a fresh HERALD_DATA_DIR) as a child process (tests/helpers/herald-process.ts),
 * driven over real sockets; Kamailio (tests/helpers/kamailio.ts, PostgreSQL back end) in the same
 * run as the reference. Prints JSON lines, no assertions:
 *   npm run bench -- deployed [--no-kamailio] [--rate 1000] [--seconds 8] [--presentities 20]
 *        [--xcap-seconds 3] [--concurrency 10] [--contacts 200] [--kamailio-children 4]
 *
 * Needs a portal build (`npx next build`); without `.next`, `herald start` builds it first.
 * Measures, per target:
 *   publish       PUBLISH (PIDF modification, conditional on the last SIP-ETag) offered at --rate
 *                 per second in total for --seconds, spread over --presentities UAs, one TCP
 *                 connection each with digest (tests/bench/presence-load.ts connectUser). Each UA
 *                 sends its next PUBLISH at its scheduled time, or as soon as its previous one is
 *                 answered when it is late (a UA has one PUBLISH in flight: the next one needs the
 *                 new entity tag), so `perSecond` below the offered rate means the server fell
 *                 behind. Latency: `serviceP50Ms`/`serviceP99Ms` from sending; `p50Ms`/`p99Ms` from
 *                 the scheduled time (includes the wait behind a late answer).
 *   xcap-get      GET of a --contacts-entry resource-lists document, HTTP digest (nonce reused,
 *                 nc counting), --concurrency workers, a new TCP connection per request
 *   xcap-put      PUT of that whole document (unconditional replace), same conditions
 * Herald's XCAP root is the portal's /xcap-root route (Next.js, accounts and documents in SQLite).
 * `loadCpuShare`: this process's CPU over the measure as a share of one core (the load generator
 * shares the machine with the server; near 1 it, not the server, caps the rate). Both targets run
 * for the whole script and each measure runs against Herald, then Kamailio.
 * Accounts: 20 presentities and 40 watchers (u0…u59@example.test) seeded before start; the
 * watchers are not used by these two measures yet.
 */
import http from "node:http";
import { cpus } from "node:os";
import { addAccount, addDomain } from "../../lib/accounts/service";
import { digestHa1 } from "../../lib/accounts/password";
import { XcapClient, type FetchFn } from "../../lib/xcap/client/xcap-client";
import { startHerald } from "../helpers/herald-process";
import { kamailioAvailable, kamailioBenchTarget, startKamailio, type KamailioServer } from "../helpers/kamailio";
import { numberedContacts, resourceListsXml } from "../helpers/kamailio-documents";
import { pidf, type SipTestClient } from "../helpers/sip-client";
import { connectUser, type BenchTarget } from "./presence-load";

const argv = process.argv.slice(2);
const num = (name: string, dflt: number): number => {
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  if (eq) return Number(eq.slice(name.length + 3));
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const flag = (name: string) => argv.includes(`--${name}`);
const ONLY = argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
const runs = (measure: string) => !ONLY || ONLY.includes(measure);

const DOMAIN = "example.test";
const PASSWORD = "Bench-deployed-pass1"; // passes the portal's password policy
const PRESENTITIES = num("presentities", 20);
const WATCHERS = 40;
const RATE = num("rate", 1000);
const SECONDS = num("seconds", 8);
const XCAP_SECONDS = num("xcap-seconds", 3);
const CONCURRENCY = num("concurrency", 10);
const CONTACTS = num("contacts", 200);
const HERALD = "herald start (sqlite)";
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
    // warm-up, not counted: the initial PUBLISH (and its digest challenge) and a short burst
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
    const perClient = Math.round((RATE * SECONDS) / PRESENTITIES);
    const fromSchedule: number[] = [];
    const service: number[] = [];
    let failures = 0;
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
          if (r.status !== 200) failures++;
          else etags[i] = r.getHeader("SIP-ETag");
          service.push(done - sent);
          fromSchedule.push(done - due);
        }
      }),
    );
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

// ---- targets ---------------------------------------------------------------------------------------

interface Figures {
  publish?: PublishResult;
  get?: Record<string, unknown> & { rps: number };
  put?: Record<string, unknown> & { rps: number };
}

interface Running {
  name: string;
  sip: BenchTarget;
  xcap: XcapTarget;
  stop(): Promise<void>;
}

/** the load generator's own CPU over `fn`, as a share of one core: near 1 means it, not the server, caps the rate */
async function withLoadCpu<T>(fn: () => Promise<T>): Promise<T & { loadCpuShare: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await fn();
  const cpu = process.cpuUsage(cpu0);
  return { ...r, loadCpuShare: +((cpu.user + cpu.system) / 1000 / (performance.now() - t0)).toFixed(2) };
}

async function startHeraldTarget(): Promise<Running> {
  const t0 = performance.now();
  const prof = argv.find((a) => a.startsWith("--cpu-prof="))?.slice("--cpu-prof=".length);
  const herald = await startHerald({
    ...(prof ? { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", prof] } : {}),
    seed: async (db) => {
      await addDomain(db, DOMAIN);
      for (let i = 0; i < PRESENTITIES + WATCHERS; i++) await addAccount(db, { address: `u${i}@${DOMAIN}`, password: PASSWORD });
    },
  });
  line({ target: HERALD, bench: "start", sipPort: herald.sipPort, portal: herald.baseUrl, accounts: PRESENTITIES + WATCHERS, startSeconds: +((performance.now() - t0) / 1000).toFixed(1) });
  return {
    name: HERALD,
    sip: {
      name: HERALD,
      host: "127.0.0.1",
      port: herald.sipPort,
      domain: DOMAIN,
      account: (i) => ({ user: `u${i}`, password: PASSWORD }),
      allowAll: () => Promise.reject(new Error("not needed for PUBLISH")),
    },
    xcap: { root: `${herald.baseUrl}/xcap-root`, user: "u0", ha1: digestHa1("u0", DOMAIN, PASSWORD), wildcard: "*" },
    stop: () => herald.stop(),
  };
}

async function startKamailioTarget(): Promise<Running> {
  const children = num("kamailio-children", 4);
  const t0 = performance.now();
  const k: KamailioServer = await startKamailio({ domain: DOMAIN, children, authephSecret: false });
  try {
    const sip = await kamailioBenchTarget(k, { count: PRESENTITIES + WATCHERS, password: PASSWORD });
    line({ target: KAMAILIO, bench: "start", children, startSeconds: +((performance.now() - t0) / 1000).toFixed(1), note: "presence + presence_xml + xcap_server, auth_db on PostgreSQL" });
    return { name: KAMAILIO, sip, xcap: { root: k.xcapRoot, user: "u0", ha1: k.ha1("u0"), wildcard: '"*"' }, stop: () => k.stop() };
  } catch (e) {
    await k.stop();
    throw e;
  }
}

/**
 * Both targets run for the whole script; each measure runs against one target, then the other
 * (not all of one target first), so that a change in the machine's other load skews both alike.
 */
async function main(): Promise<void> {
  const t0 = performance.now();
  line({ bench: "deployed", node: process.version, cpus: cpus().length, rate: RATE, seconds: SECONDS, presentities: PRESENTITIES, watchers: WATCHERS, xcapSeconds: XCAP_SECONDS, concurrency: CONCURRENCY, contacts: CONTACTS });
  const running: Running[] = [];
  const figures = new Map<string, Figures>();
  try {
    running.push(await startHeraldTarget());
    if (flag("no-kamailio")) line({ bench: "deployed-skip", target: KAMAILIO, reason: "--no-kamailio" });
    else if (!kamailioAvailable()) line({ bench: "deployed-skip", target: KAMAILIO, reason: "Kamailio or its presence/xcap modules not installed" });
    else running.push(await startKamailioTarget());
    for (const r of running) figures.set(r.name, {});
    for (const r of running) {
      if (!runs("publish")) break;
      const p = await withLoadCpu(() => publishAtRate(r.sip));
      figures.get(r.name)!.publish = p;
      line({ target: r.name, bench: "publish", presentities: PRESENTITIES, transport: "tcp, one connection per UA, digest", ...p });
    }
    for (const r of running) {
      if (!runs("xcap")) break;
      await prepareXcap(r.name, r.xcap);
      line({ target: r.name, bench: "xcap-setup", documentBytes: Buffer.byteLength(documentXml), entries: CONTACTS });
    }
    for (const op of runs("xcap") ? (["get", "put"] as const) : []) {
      for (const r of running) {
        const x = await withLoadCpu(() => xcapOp(r.xcap, op));
        figures.get(r.name)![op] = x;
        line({ target: r.name, bench: `xcap-${op}-document`, ...x });
      }
    }
  } finally {
    for (const r of running.reverse()) await r.stop().catch((e: unknown) => line({ bench: "deployed-cleanup-error", target: r.name, error: String(e) }));
  }
  const h = figures.get(HERALD)!;
  const k = figures.get(KAMAILIO);
  if (k) {
    const ratio = (a: number | undefined, b: number | undefined) => (a && b ? +(a / b).toFixed(2) : null);
    for (const [measure, hv, kv, higherIsBetter] of [
      ["publish_per_second", h.publish?.perSecond, k.publish?.perSecond, true],
      ["publish_p50_ms", h.publish?.p50Ms, k.publish?.p50Ms, false],
      ["publish_p99_ms", h.publish?.p99Ms, k.publish?.p99Ms, false],
      ["xcap_get_document_rps", h.get?.rps, k.get?.rps, true],
      ["xcap_put_document_rps", h.put?.rps, k.put?.rps, true],
    ] as Array<[string, number | undefined, number | undefined, boolean]>) {
      line({ bench: "deployed-ratio", target: HERALD, vs: KAMAILIO, measure, herald: hv, kamailio: kv, ratio: ratio(hv, kv), higherIsBetter });
    }
  }
  line({ bench: "deployed-done", totalSeconds: +((performance.now() - t0) / 1000).toFixed(1) });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e) + "\n");
    process.exit(1);
  },
);
