/**
 * RLS admission control (RLS_MAX_CONCURRENT_BUILDS): list SUBSCRIBEs arriving together over real
 * TCP are built at most `maxConcurrentBuilds` at a time — a reconnect storm holds only that many
 * lists' documents in memory while the store is slow — and every list still gets its full state.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { SipRequest } from "@/lib/sip";
import { MemoryXcapStore, type XcapDocumentKey, type XcapStore } from "@/lib/xcap/server";
import type { SipTestClient } from "../../helpers/sip-client";
import { DOMAIN, LIST_HEADERS, OMA_RULES, RlsXcap, bigClient, parseListNotify, resourceListsXml, rlsServicesXml, serviceUri, startRlsServer } from "./rls-harness";
import { waitFor } from "../../helpers/wait";

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const OWNERS = Array.from({ length: 10 }, (_, i) => `owner${i}`);
/** Each owner's own three contacts: their rules are read once per list (no sharing between builds). */
const membersOf = (i: number) => [0, 1, 2].map((k) => `m${i}x${k}`);
const MEMBER_AORS = new Set(OWNERS.flatMap((_, i) => membersOf(i)).map((u) => `sip:${u}@${DOMAIN}`));
const PER_LIST = 3;
const isList = (n: SipRequest) => (n.getHeader("Content-Type") ?? "").startsWith("multipart/related");

/**
 * A store whose reads of the contacts' pres-rules (made by a list build's back-end subscriptions)
 * wait until the test releases them, counting how many wait at once.
 */
function gatedStore(base: XcapStore) {
  const waiting: Array<() => void> = [];
  const g = { on: false, pending: 0, peak: 0, waiting };
  const get = async (key: XcapDocumentKey) => {
    if (g.on && key.auid === OMA_RULES && MEMBER_AORS.has(key.xui ?? "")) {
      g.pending++;
      g.peak = Math.max(g.peak, g.pending);
      await new Promise<void>((r) => waiting.push(r));
      g.pending--;
    }
    return base.get(key);
  };
  const store = new Proxy(base, {
    get(t, p) {
      if (p === "get") return get;
      const v = Reflect.get(t, p, t) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return { store, g };
}

describe("RLS admission control", () => {
  it("builds at most maxConcurrentBuilds lists at once while the store is slow; SUBSCRIBEs are answered at once and every list gets full state", async () => {
    const { store, g } = gatedStore(new MemoryXcapStore());
    const xcap = new RlsXcap(store);
    // back ends wait for the store as long as it takes (no readiness timeout frees a slot early)
    const s = await startRlsServer({ xcap, users: [...OWNERS, ...OWNERS.flatMap((_, i) => membersOf(i))], rls: { maxConcurrentBuilds: 2, readyTimeoutMs: 60_000 } });
    cleanup.push(() => s.stop());
    for (const [i, o] of OWNERS.entries()) {
      const aor = `sip:${o}@${DOMAIN}`;
      await xcap.put(aor, "resource-lists", resourceListsXml({ sipsimple_presence_rls: membersOf(i).map((u) => `sip:${u}@${DOMAIN}`) }));
      await xcap.put(aor, "rls-services", rlsServicesXml(aor, o));
    }
    const clients: SipTestClient[] = [];
    for (const o of OWNERS) {
      const c = await bigClient(s.port, o);
      cleanup.push(() => c.close());
      clients.push(c);
    }
    g.on = true;
    // every owner subscribes at once (a reconnect storm in small)
    const subscribed = clients.map((c, i) => c.subscribe(serviceUri(OWNERS[i]!), { headers: LIST_HEADERS }));
    // every SUBSCRIBE is answered at once; the builds wait their turn
    for (const r of await Promise.all(subscribed)) expect(r.response.status).toBe(200);
    await waitFor(() => g.pending >= 2 * PER_LIST, { what: "two builds reading their contacts' rules" });
    // let every build that is not held back reach the store (event-loop turns, not time)
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(g.pending).toBe(2 * PER_LIST);
    expect(s.rls.builds.queued).toBe(OWNERS.length - 2);
    // release reads one at a time until every list has its full state
    const full = new Set<number>();
    const watching = clients.map((c, i) =>
      c.waitForNotify((n) => isList(n) && parseListNotify(n).rlmi!.fullState && parseListNotify(n).rlmi!.resources.length === PER_LIST, { timeoutMs: 20_000 }).then(() => full.add(i)),
    );
    for (let n = 0; n < 200 && full.size < OWNERS.length; n++) {
      await waitFor(() => g.waiting.length > 0 || full.size === OWNERS.length, { what: "a read to release or every list full" });
      g.waiting.shift()?.();
    }
    g.on = false;
    for (const w of g.waiting.splice(0)) w();
    await Promise.all(watching);
    expect(full.size).toBe(OWNERS.length);
    expect(g.peak).toBeLessThanOrEqual(2 * PER_LIST);
    expect(s.rls.builds.peakRunning).toBe(2);
  });
});
