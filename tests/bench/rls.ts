/**
 * RLS benchmark (RFC 4662), JSON lines. Per target (Herald's embedded server in this process;
 * Kamailio 5.6's rls when installed, unless --no-kamailio):
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
import { SipTestClient } from "../helpers/sip-client";
import { kamailioAvailable, startKamailio, type KamailioServer } from "../helpers/kamailio";
import { presRulesXml, resourceListNodeUri, resourceListsXml as kResourceListsXml, rlsServicesXml as kRlsServicesXml } from "../helpers/kamailio-documents";
import {
  DOMAIN,
  OMA_RULES,
  PASSWORD,
  RlsXcap,
  resourceListsXml,
  rlsServicesXml,
  rulesXml,
  startRlsServer,
} from "../integration/server/rls-harness";

const SIZES = [50, 200, 500];
const MAX = Math.max(...SIZES);
const BURST_CONTACTS = 20;
const BURST_ROUNDS = 5;
const MEM_LISTS = 20;
const MEM_SIZE = 200;
const args = process.argv.slice(2);

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
    const c = await connect(t, owner);
    const t0 = performance.now();
    const { response, sub } = await c.subscribe(t.serviceUri(owner), { headers: [["Supported", "eventlist"], ["Accept", "multipart/related, application/rlmi+xml, application/pidf+xml"]], expires: 600 });
    if (response.status !== 200 || !sub) throw new Error(`SUBSCRIBE ${owner}: ${response.status}`);
    const first = await c.waitForNotify((x) => parse(x) !== undefined, { sub, timeoutMs: 30_000 });
    const firstMs = performance.now() - t0;
    let full: SipRequest | undefined;
    try {
      full = await c.waitForNotify((x) => activeCount(parse(x)) === n, { sub, timeoutMs: 60_000 });
    } catch {
      // not reached: report how far it got (instance states of the last NOTIFY)
      const last = c.notifies(sub).at(-1);
      const states: Record<string, number> = {};
      for (const r of (last && parse(last))?.rlmi?.resources ?? []) {
        const st = r.instances[0]?.state ?? "no-instance";
        states[st] = (states[st] ?? 0) + 1;
      }
      out({ target: t.name, metric: "subscribe_to_full_state", resources: n, firstNotifyMs: +firstMs.toFixed(1), fullStateMs: null, notifies: c.notifies(sub).length, lastNotifyStates: states, note: "full state not reached within 60 s" });
      await c.resubscribe(sub, 0).catch(() => undefined);
      await c.close();
      continue;
    }
    const fullMs = performance.now() - t0;
    out({ target: t.name, metric: "subscribe_to_full_state", resources: n, firstNotifyMs: +firstMs.toFixed(1), fullStateMs: +fullMs.toFixed(1), fullStateNotifyBytes: full.body.length, firstNotifyBytes: first.body.length, notifiesUntilFull: c.notifies(sub).length });

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
  const xcap = new RlsXcap();
  const owners = [...SIZES.map((n) => `owner${n}`), ...Array.from({ length: MEM_LISTS }, (_, i) => `mem${i}`)];
  const s = await startRlsServer({ xcap, users: [...owners, ...Array.from({ length: MAX }, (_, i) => rUser(i))], rls: {} });
  const aor = (u: string) => `sip:${u}@${DOMAIN}`;
  const target: RlsBenchTarget & { memory(): Promise<void> } = {
    name: "herald",
    host: "127.0.0.1",
    port: s.port,
    domain: DOMAIN,
    serviceUri: (owner) => `sip:${owner}+presence@${DOMAIN}`,
    async seed(sizes) {
      for (let i = 0; i < MAX; i++) await xcap.put(aor(rUser(i)), OMA_RULES, rulesXml(aor(rUser(i)), [{ id: "owners", identities: owners.map(aor), handling: "allow" }]));
      for (const n of sizes) await seedOwner(`owner${n}`, n);
      for (let i = 0; i < MEM_LISTS; i++) await seedOwner(`mem${i}`, MEM_SIZE);
    },
    async memory() {
      const gc = (globalThis as { gc?: () => void }).gc;
      const heap = () => {
        gc?.();
        gc?.();
        return process.memoryUsage().heapUsed;
      };
      await new Promise((r) => setTimeout(r, 500));
      const before = heap();
      const clients: SipTestClient[] = [];
      for (let i = 0; i < MEM_LISTS; i++) {
        const c = await connect(target, `mem${i}`, false);
        const { sub } = await c.subscribe(`sip:mem${i}+presence@${DOMAIN}`, { headers: [["Supported", "eventlist"]], expires: 600 });
        if (!sub) throw new Error("memory SUBSCRIBE failed");
        clients.push(c);
      }
      await s.server.notifier.drain();
      await new Promise((r) => setTimeout(r, 500));
      const after = heap();
      out({ target: "herald", metric: "memory_per_list_subscription", lists: MEM_LISTS, resources: MEM_SIZE, bytesPerList: Math.round((after - before) / MEM_LISTS), backEnds: s.rls.pool.size, gcExposed: typeof gc === "function" });
      for (const c of clients) await c.close();
    },
    close: () => s.stop(),
  };
  return target;
  async function seedOwner(owner: string, n: number): Promise<void> {
    await xcap.put(aor(owner), "resource-lists", resourceListsXml({ sipsimple_presence_rls: Array.from({ length: n }, (_, i) => aor(rUser(i))) }));
    await xcap.put(aor(owner), "rls-services", rlsServicesXml(aor(owner), owner));
  }
}

// ---- Kamailio ---------------------------------------------------------------------------------

async function kamailioTarget(): Promise<RlsBenchTarget> {
  const k: KamailioServer = await startKamailio({ domain: DOMAIN, shmMb: 512, pkgMb: 64 });
  const owners = SIZES.map((n) => `owner${n}`);
  await k.addUsers([...owners, ...Array.from({ length: MAX }, (_, i) => rUser(i))].map((user) => ({ user, password: PASSWORD })));
  const aor = (u: string) => `sip:${u}@${DOMAIN}`;
  return {
    name: "kamailio",
    host: k.host,
    port: k.sipPort,
    domain: DOMAIN,
    serviceUri: (owner) => `sip:${owner}+presence@${DOMAIN}`,
    async seed(sizes) {
      // Kamailio evaluates only inline identities (no OMA external-list): one rule naming the owners
      const rules = presRulesXml([{ id: "owners", identities: owners.map(aor), subHandling: "allow" }]);
      for (let i = 0; i < MAX; i++) await k.xcapClient(rUser(i)).putDocument("pres-rules", "index", rules);
      for (const n of sizes) {
        const owner = `owner${n}`;
        const cl = k.xcapClient(owner);
        await cl.putDocument("resource-lists", "index", kResourceListsXml({ sipsimple_presence_rls: Array.from({ length: n }, (_, i) => ({ uri: aor(rUser(i)) })) }));
        await cl.putDocument("rls-services", "index", kRlsServicesXml([{ uri: `sip:${owner}+presence@${DOMAIN}`, resourceList: resourceListNodeUri(k.xcapRoot, aor(owner), "sipsimple_presence_rls") }]));
      }
    },
    close: () => k.stop(),
  };
}

// ---- run ----------------------------------------------------------------------------------------

const herald = await heraldTarget();
try {
  await measureTarget(herald);
  await herald.memory();
} finally {
  await herald.close();
}

if (!args.includes("--no-kamailio")) {
  if (!kamailioAvailable()) out({ target: "kamailio", skipped: "Kamailio or its presence/rls modules are not installed" });
  else {
    let k: RlsBenchTarget | undefined;
    try {
      k = await kamailioTarget();
      await measureTarget(k);
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
  out({
    target: "herald/kamailio",
    metric: "ratio",
    resources: n,
    fullStateMs: +(Number(h.fullStateMs) / Number(k.fullStateMs)).toFixed(3),
    firstNotifyMs: +(Number(h.firstNotifyMs) / Number(k.firstNotifyMs)).toFixed(3),
    fullStateNotifyBytes: +(Number(h.fullStateNotifyBytes) / Number(k.fullStateNotifyBytes)).toFixed(3),
  });
}
const hb = records.find((r) => r.target === "herald" && r.metric === "notifies_per_burst");
const kb = records.find((r) => r.target === "kamailio" && r.metric === "notifies_per_burst");
if (hb && kb) out({ target: "herald/kamailio", metric: "ratio", burstNotifies: +(Number(hb.notifies) / Number(kb.notifies)).toFixed(3) });
process.exit(0);
