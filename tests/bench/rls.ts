/**
 * RLS benchmark (RFC 4662), JSON lines. Per target (Herald's embedded server + RLS in a child
 * process, tests/bench/rls-herald-server.ts; Kamailio 5.6's rls with 1 GiB shm when installed):
 *   npx tsx tests/bench/rls.ts [--no-herald] [--no-kamailio] [--sizes=50,200,500] [--trials=3]
 *                              [--publishers=N] [--full-wait-ms=15000]
 * Each size is measured --trials times (unsubscribe, fresh SUBSCRIBE); medians over the trials
 * that reached full state, and how many did not (Kamailio's rls, db_mode=2, sometimes never sends
 * the NOTIFY with every resource active although rls_presentity holds them all: counted as lost,
 * with its tables in the trial line). RLS_BENCH_KLOG=<bytes> prints Kamailio's log tail.
 *   - SUBSCRIBE → first NOTIFY and → full state (every resource active with its PIDF) for lists of
 *     50, 200 and 500 resources, and the size of the full-state NOTIFY;
 *   - NOTIFYs the watcher gets for a burst of changes (20 contacts × 5 PUBLISHes, back to back);
 *   - Herald only: heap per list subscription (200 resources, distinct owners, back ends included).
 * Kamailio sends every RLMI NOTIFY as full state and shows a resource only once its back-end
 * NOTIFY arrived, so "full state" is the first NOTIFY in which all resources are active.
 * Figures, never assertions.
 */
import { parseMultipartRelated, type MultipartRelated } from "../../lib/presence";
import type { SipRequest } from "../../lib/sip";
import { SipStreamParser } from "../../lib/sip";
import { fileURLToPath } from "node:url";
import { SipTestClient } from "../helpers/sip-client";
import { startChildServer } from "./child-server";
import { kamailioAvailable, kamailioMemoryBytes, startKamailio, type KamailioServer } from "../helpers/kamailio";
import { presRulesXml, resourceListNodeUri, resourceListsXml as kResourceListsXml, rlsServicesXml as kRlsServicesXml } from "../helpers/kamailio-documents";
import {
  DOMAIN,
  OMA_RULES,
  PASSWORD,
  resourceListsXml,
  rlsServicesXml,
  rulesXml,
} from "../integration/server/rls-harness";

const args = process.argv.slice(2);
const argOf = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const SIZES = (argOf("sizes") ?? "50,200,500").split(",").map(Number);
const MAX = Number(argOf("publishers") ?? Math.max(...SIZES));
const BURST_CONTACTS = 20;
const BURST_ROUNDS = 5;
const MEM_LISTS = 20;
const MEM_SIZE = 200;
const TRIALS = Number(argOf("trials") ?? 3);
/** Kamailio shows full state within ~1-3 s when it does; past this the update is counted as lost */
const FULL_WAIT_MS = Number(argOf("full-wait-ms") ?? 15_000);
const median = (xs: number[]) => {
  const v = [...xs].sort((x, y) => x - y);
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};

const records: Array<Record<string, unknown>> = [];
function out(o: Record<string, unknown>): void {
  records.push(o);
  process.stdout.write(JSON.stringify({ bench: "rls", ...o }) + "\n");
}

/** What the measurements need from a server under test. */
interface RlsBenchTarget {
  name: string;
  host: string;
  port: number;
  domain: string;
  /** Provision owners `owner<N>` with a list of resources r0..r<N-1> (each allowing its owners); returns the service URIs. */
  seed(sizes: number[], owners: string[]): Promise<void>;
  serviceUri(owner: string): string;
  close(): Promise<void>;
  /** extra state when full state is not reached (server tables) */
  diagnose?(): Promise<Record<string, unknown>>;
}

const rUser = (i: number) => `r${i}`;

async function connect(t: RlsBenchTarget, user: string, keep = true): Promise<SipTestClient> {
  const c = new SipTestClient({ host: t.host, port: t.port, user, domain: t.domain, password: PASSWORD, timeoutMs: 30_000, keepReceived: keep, preemptiveAuth: true });
  const internals = c as unknown as { parser: SipStreamParser; open(): Promise<void> };
  internals.parser = new SipStreamParser({ maxMessageSize: 16 * 1024 * 1024 });
  await internals.open();
  return c;
}

function pidf(entity: string, note: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${entity}"><tuple id="t1"><status><basic>open</basic></status><note>${note}</note></tuple></presence>`;
}

function parse(n: SipRequest): MultipartRelated | undefined {
  const ct = n.getHeader("Content-Type");
  if (!ct || !/^multipart\/related/i.test(ct)) return undefined;
  try {
    return parseMultipartRelated(ct, n.body);
  } catch {
    return undefined;
  }
}

function activeCount(m: MultipartRelated | undefined): number {
  return m?.rlmi?.resources.filter((r) => r.instances.some((i) => i.state === "active" && i.cid)).length ?? 0;
}

async function measureTarget(t: RlsBenchTarget): Promise<void> {
  const owners = SIZES.map((n) => `owner${n}`);
  await t.seed(SIZES, owners);
  // every resource publishes once (so each instance carries a PIDF)
  const publishers: SipTestClient[] = [];
  for (let i = 0; i < MAX; i++) {
    const c = await connect(t, rUser(i), false);
    const r = await c.publish(pidf(`sip:${rUser(i)}@${t.domain}`, `r${i} initial`));
    if (r.status !== 200) throw new Error(`PUBLISH r${i}: ${r.status}`);
    publishers.push(c);
  }
  for (const n of SIZES) {
    const owner = `owner${n}`;
    const ok: number[] = [];
    const firsts: number[] = [];
    let lost = 0;
    let c!: SipTestClient;
    let sub!: NonNullable<Awaited<ReturnType<SipTestClient["subscribe"]>>["sub"]>;
    let full: SipRequest | undefined;
    let fullBytes: number | null = null;
    let first!: SipRequest;
    for (let trial = 0; trial < TRIALS; trial++) {
      if (trial > 0) {
        await c.resubscribe(sub, 0).catch(() => undefined);
        await c.close();
        await new Promise((r) => setTimeout(r, 500)); // back ends torn down before the next list
      }
      c = await connect(t, owner);
      const t0 = performance.now();
      const r = await c.subscribe(t.serviceUri(owner), { headers: [["Supported", "eventlist"], ["Accept", "multipart/related, application/rlmi+xml, application/pidf+xml"]], expires: 600 });
      if (r.response.status !== 200 || !r.sub) throw new Error(`SUBSCRIBE ${owner}: ${r.response.status}`);
      sub = r.sub;
      first = await c.waitForNotify((x) => parse(x) !== undefined, { sub, timeoutMs: 30_000 });
      const firstMs = performance.now() - t0;
      firsts.push(firstMs);
      try {
        full = await c.waitForNotify((x) => activeCount(parse(x)) === n, { sub, timeoutMs: FULL_WAIT_MS });
      } catch {
        full = undefined;
        lost++;
        // not reached: report how far it got (instance states of the last NOTIFY)
        const last = c.notifies(sub).at(-1);
        const states: Record<string, number> = {};
        for (const res of (last && parse(last))?.rlmi?.resources ?? []) {
          const st = res.instances[0]?.state ?? "no-instance";
          states[st] = (states[st] ?? 0) + 1;
        }
        out({ target: t.name, metric: "subscribe_trial", resources: n, trial, firstNotifyMs: +firstMs.toFixed(1), fullStateMs: null, notifies: c.notifies(sub).length, lastNotifyStates: states, note: `full state not reached within ${FULL_WAIT_MS / 1000} s`, ...(await t.diagnose?.()) });
        continue;
      }
      const fullMs = performance.now() - t0;
      ok.push(fullMs);
      fullBytes = full.body.length;
      out({ target: t.name, metric: "subscribe_trial", resources: n, trial, firstNotifyMs: +firstMs.toFixed(1), fullStateMs: +fullMs.toFixed(1), notifiesUntilFull: c.notifies(sub).length });
    }
    out({
      target: t.name,
      metric: "subscribe_to_full_state",
      resources: n,
      trials: TRIALS,
      fullStateReached: ok.length,
      fullStateLost: lost,
      firstNotifyMs: +median(firsts).toFixed(1),
      fullStateMs: ok.length ? +median(ok).toFixed(1) : null,
      fullStateMinMs: ok.length ? +Math.min(...ok).toFixed(1) : null,
      fullStateMaxMs: ok.length ? +Math.max(...ok).toFixed(1) : null,
      fullStateNotifyBytes: fullBytes,
      firstNotifyBytes: first.body.length,
    });
    if (!full) {
      await c.resubscribe(sub, 0).catch(() => undefined);
      await c.close();
      continue;
    }

    if (n === 200) {
      await new Promise((r) => setTimeout(r, 1500)); // let late back-end NOTIFYs settle
      const from = c.notifies(sub).length;
      const etags: Array<string | undefined> = [];
      const tb = performance.now();
      for (let k = 0; k < BURST_ROUNDS; k++) {
        await Promise.all(publishers.slice(0, BURST_CONTACTS).map(async (p, i) => {
          const r = await p.publish(pidf(`sip:${rUser(i)}@${t.domain}`, `burst ${k}`), { etag: etags[i] });
          etags[i] = r.getHeader("SIP-ETag");
        }));
      }
      const last = `burst ${BURST_ROUNDS - 1}<`;
      let settledMs = NaN;
      try {
        await c.waitForNotify(() => {
          const seen = new Set<number>();
          for (const x of c.notifies(sub).slice(from)) {
            const m = parse(x);
            for (const r of m?.rlmi?.resources ?? []) {
              const cid = r.instances[0]?.cid;
              const part = cid ? m!.byContentId.get(cid) : undefined;
              if (part && new TextDecoder().decode(part.body).includes(last)) seen.add(Number(/sip:r(\d+)@/.exec(r.uri)?.[1]));
            }
          }
          return seen.size === BURST_CONTACTS;
        }, { sub, from, timeoutMs: 30_000 });
        settledMs = performance.now() - tb;
      } catch {
        // reported as NaN
      }
      await new Promise((r) => setTimeout(r, 1000));
      const got = c.notifies(sub).slice(from);
      out({ target: t.name, metric: "notifies_per_burst", resources: n, changes: BURST_CONTACTS * BURST_ROUNDS, notifies: got.length, bytes: got.reduce((s, x) => s + x.body.length, 0), finalStateMs: +settledMs.toFixed(1) });
    }
    await c.resubscribe(sub, 0).catch(() => undefined);
    await c.close();
  }
  for (const p of publishers) await p.close();
}

// ---- Herald -----------------------------------------------------------------------------------

async function heraldTarget(): Promise<RlsBenchTarget & { memory(): Promise<void> }> {
  const owners = [...SIZES.map((n) => `owner${n}`), ...Array.from({ length: MEM_LISTS }, (_, i) => `mem${i}`)];
  const users = [...owners, ...Array.from({ length: MAX }, (_, i) => rUser(i))];
  const script = fileURLToPath(new URL("./rls-herald-server.ts", import.meta.url));
  const { child, ready, call } = await startChildServer<{ port: number }>(script, ["--users", users.join(",")], "Herald RLS child");
  const { port } = ready;
  const aor = (u: string) => `sip:${u}@${DOMAIN}`;
  const ownerDocs = (owner: string, n: number): Array<[string, string, string]> => [
    [aor(owner), "resource-lists", resourceListsXml({ sipsimple_presence_rls: Array.from({ length: n }, (_, i) => aor(rUser(i))) })],
    [aor(owner), "rls-services", rlsServicesXml(aor(owner), owner)],
  ];
  const target: RlsBenchTarget & { memory(): Promise<void> } = {
    name: "herald",
    host: "127.0.0.1",
    port,
    domain: DOMAIN,
    serviceUri: (owner) => `sip:${owner}+presence@${DOMAIN}`,
    async seed(sizes) {
      const docs: Array<[string, string, string]> = [];
      for (let i = 0; i < MAX; i++) docs.push([aor(rUser(i)), OMA_RULES, rulesXml(aor(rUser(i)), [{ id: "owners", identities: owners.map(aor), handling: "allow" }])]);
      for (const n of sizes) docs.push(...ownerDocs(`owner${n}`, n));
      for (let i = 0; i < MEM_LISTS; i++) docs.push(...ownerDocs(`mem${i}`, MEM_SIZE));
      await call("put", { docs });
    },
    async memory() {
      type Mem = { gc: boolean; heapUsed: number; external: number; backEnds: number };
      await new Promise((r) => setTimeout(r, 500));
      const before = await call<Mem>("memory");
      const clients: SipTestClient[] = [];
      for (let i = 0; i < MEM_LISTS; i++) {
        const c = await connect(target, `mem${i}`, false);
        const { sub } = await c.subscribe(`sip:mem${i}+presence@${DOMAIN}`, { headers: [["Supported", "eventlist"]], expires: 600 });
        if (!sub) throw new Error("memory SUBSCRIBE failed");
        clients.push(c);
      }
      await call("drain");
      await new Promise((r) => setTimeout(r, 500));
      const after = await call<Mem>("memory");
      out({
        target: "herald",
        metric: "memory_per_list_subscription",
        what: "server child process: V8 heapUsed + external after full GC",
        lists: MEM_LISTS,
        resources: MEM_SIZE,
        bytesPerList: Math.round((after.heapUsed + after.external - before.heapUsed - before.external) / MEM_LISTS),
        backEnds: after.backEnds,
        gcExposed: after.gc,
      });
      for (const c of clients) await c.close();
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      await exited;
    },
  };
  return target;
}

// ---- Kamailio ---------------------------------------------------------------------------------

async function kamailioTarget(): Promise<RlsBenchTarget & { memory(): Promise<void> }> {
  const k: KamailioServer = await startKamailio({ domain: DOMAIN, shmMb: 1024, pkgMb: 64, debug: Number(process.env.RLS_BENCH_KDEBUG ?? 1) });
  const owners = SIZES.map((n) => `owner${n}`);
  const memOwners = Array.from({ length: MEM_LISTS }, (_, i) => `mem${i}`);
  await k.addUsers([...owners, ...memOwners, ...Array.from({ length: MAX }, (_, i) => rUser(i))].map((user) => ({ user, password: PASSWORD })));
  const aor = (u: string) => `sip:${u}@${DOMAIN}`;
  const writeList = async (owner: string, n: number) => {
    const cl = k.xcapClient(owner);
    await cl.putDocument("resource-lists", "index", kResourceListsXml({ sipsimple_presence_rls: Array.from({ length: n }, (_, i) => ({ uri: aor(rUser(i)) })) }));
    await cl.putDocument("rls-services", "index", kRlsServicesXml([{ uri: `sip:${owner}+presence@${DOMAIN}`, resourceList: resourceListNodeUri(k.xcapRoot, aor(owner), "sipsimple_presence_rls") }]));
  };
  const target: RlsBenchTarget & { memory(): Promise<void> } = {
    name: "kamailio",
    host: k.host,
    port: k.sipPort,
    domain: DOMAIN,
    serviceUri: (owner) => `sip:${owner}+presence@${DOMAIN}`,
    async seed(sizes) {
      // Kamailio evaluates only inline identities (no OMA external-list): one rule naming the owners
      const rules = presRulesXml([{ id: "owners", identities: [...owners, ...memOwners].map(aor), subHandling: "allow" }]);
      for (let i = 0; i < MAX; i++) await k.xcapClient(rUser(i)).putDocument("pres-rules", "index", rules);
      for (const n of sizes) await writeList(`owner${n}`, n);
      for (const owner of memOwners) await writeList(owner, MEM_SIZE);
    },
    async memory() {
      // the same hold as Herald's: MEM_LISTS list subscriptions of MEM_SIZE resources each
      await new Promise((r) => setTimeout(r, 1000));
      const before = kamailioMemoryBytes(k);
      const clients: SipTestClient[] = [];
      for (const owner of memOwners) {
        const c = await connect(target, owner, false);
        const { sub } = await c.subscribe(`sip:${owner}+presence@${DOMAIN}`, { headers: [["Supported", "eventlist"]], expires: 600 });
        if (!sub) throw new Error("memory SUBSCRIBE failed");
        clients.push(c);
      }
      // back-end subscriptions settle (Kamailio keeps them in shm and its database)
      await new Promise((r) => setTimeout(r, 5000));
      const after = kamailioMemoryBytes(k);
      out({
        target: "kamailio",
        metric: "memory_per_list_subscription",
        what: "summed PSS of Kamailio's processes (shm + pkg; its PostgreSQL not counted)",
        lists: MEM_LISTS,
        resources: MEM_SIZE,
        bytesPerList: Math.round((after - before) / MEM_LISTS),
      });
      for (const c of clients) await c.close();
    },
    async diagnose() {
      const q = async (sql: string) => (await k.sql(sql)).map((r) => Object.values(r).join(":")).join(",");
      return {
        presentity: await q("select count(*) from presentity"),
        activeWatchers: await q("select status, count(*) from active_watchers group by status"),
        watchers: await q("select status, count(*) from watchers group by status"),
        rlsWatchers: await q("select count(*) from rls_watchers"),
        rlsPresentity: await q("select updated, auth_state, reason, content_type, length(presence_state) > 0, count(*) from rls_presentity group by 1,2,3,4,5"),
      };
    },
    close: async () => {
      if (process.env.RLS_BENCH_KLOG) process.stderr.write(k.log().slice(-Number(process.env.RLS_BENCH_KLOG)));
      await k.stop();
    },
  };
  return target;
}

// ---- run ----------------------------------------------------------------------------------------

if (!args.includes("--no-herald")) {
  const herald = await heraldTarget();
  try {
    await measureTarget(herald);
    await herald.memory();
  } finally {
    await herald.close();
  }
}

if (!args.includes("--no-kamailio")) {
  if (!kamailioAvailable()) out({ target: "kamailio", skipped: "Kamailio or its presence/rls modules are not installed" });
  else {
    let k: (RlsBenchTarget & { memory(): Promise<void> }) | undefined;
    try {
      k = await kamailioTarget();
      await measureTarget(k);
      await k.memory();
    } catch (e) {
      out({ target: "kamailio", error: e instanceof Error ? e.message : String(e) });
    } finally {
      await k?.close().catch(() => undefined);
    }
  }
}
// Herald / Kamailio ratios (below 1: Herald faster or smaller)
const of = (target: string, n: number) => records.find((r) => r.target === target && r.metric === "subscribe_to_full_state" && r.resources === n);
for (const n of SIZES) {
  const h = of("herald", n);
  const k = of("kamailio", n);
  if (!h || !k) continue;
  const r = (a: unknown, b: unknown) => (typeof a === "number" && typeof b === "number" && b > 0 ? +(a / b).toFixed(3) : null);
  out({
    target: "herald/kamailio",
    metric: "ratio",
    resources: n,
    fullStateMs: r(h.fullStateMs, k.fullStateMs),
    firstNotifyMs: r(h.firstNotifyMs, k.firstNotifyMs),
    fullStateNotifyBytes: r(h.fullStateNotifyBytes, k.fullStateNotifyBytes),
    fullStateReached: { herald: `${String(h.fullStateReached)}/${String(h.trials)}`, kamailio: `${String(k.fullStateReached)}/${String(k.trials)}` },
  });
}
const hb = records.find((r) => r.target === "herald" && r.metric === "notifies_per_burst");
const kb = records.find((r) => r.target === "kamailio" && r.metric === "notifies_per_burst");
const hm = records.find((r) => r.target === "herald" && r.metric === "memory_per_list_subscription");
const km = records.find((r) => r.target === "kamailio" && r.metric === "memory_per_list_subscription");
if (hm && km && Number(km.bytesPerList) > 0) out({ target: "herald/kamailio", metric: "ratio", memoryPerList: +(Number(hm.bytesPerList) / Number(km.bytesPerList)).toFixed(3) });
if (hb && kb) out({ target: "herald/kamailio", metric: "ratio", burstNotifies: +(Number(hb.notifies) / Number(kb.notifies)).toFixed(3) });
process.exit(0);
