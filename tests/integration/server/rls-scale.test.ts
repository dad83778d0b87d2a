/**
 * RLS with a 500-resource list over real TCP: full state (active / pending / terminated),
 * partial NOTIFY after one PUBLISH, a list edit without re-SUBSCRIBE, a burst batched; and a
 * resource in another domain served by a second Herald instance through a real SIP SUBSCRIBE
 * (B2BUA back end).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { SipRequest } from "@/lib/sip";
import { expectValidXml } from "../../unit/presence/xsd";
import {
  DOMAIN,
  LIST_HEADERS,
  OMA_RULES,
  PASSWORD,
  RlsXcap,
  accountsFor,
  bigClient,
  instances,
  parseListNotify,
  pidfDoc,
  pythonMultipart,
  resourceListsXml,
  rlsServicesXml,
  rulesXml,
  serviceUri,
  startRlsServer,
} from "./rls-harness";
import { CONTENT_TYPES } from "../../../lib/presence/namespaces";

const ALICE = `sip:alice@${DOMAIN}`;
const LIST = serviceUri("alice");
const N = 500;
const users = Array.from({ length: N }, (_, i) => `u${i}`);
const aor = (u: string, d = DOMAIN) => `sip:${u}@${d}`;

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const isList = (n: SipRequest) => (n.getHeader("Content-Type") ?? "").startsWith("multipart/related");

describe("RLS with 500 resources", () => {
  it("full state, partial after one PUBLISH, edit without re-SUBSCRIBE, batched burst", { timeout: 60_000 }, async () => {
    const xcap = new RlsXcap();
    // u0..u249 allow alice, u250..u449 have no rules for her (confirm → pending), u450..u499 block
    for (let i = 0; i < N; i++) {
      const handling = i < 250 ? "allow" : i < 450 ? "confirm" : "block";
      await xcap.put(aor(users[i]!), OMA_RULES, rulesXml(aor(users[i]!), [{ id: "a", identities: [ALICE], handling }]));
    }
    await xcap.put(ALICE, "resource-lists", resourceListsXml({ sipsimple_presence_rls: users.map((u) => aor(u)) }));
    await xcap.put(ALICE, "rls-services", rlsServicesXml(ALICE, "alice"));
    const s = await startRlsServer({ xcap, users: ["alice", ...users], rls: { batchWindowMs: 100 } });
    cleanup.push(() => s.stop());
    const pubs = await Promise.all(users.slice(0, 5).map(async (u) => {
      const c = await bigClient(s.port, u);
      cleanup.push(() => c.close());
      return c;
    }));
    await pubs[0]!.publish(pidfDoc(aor("u0"), "open", "u0 online"));

    const alice = await bigClient(s.port, "alice", { timeoutMs: 20_000 });
    cleanup.push(() => alice.close());
    const t0 = Date.now();
    const { response, sub } = await alice.subscribe(LIST, { headers: LIST_HEADERS });
    expect(response.status).toBe(200);
    const first = await alice.waitForNotify(isList, { sub });
    const firstMs = Date.now() - t0;
    const mp = parseListNotify(first);
    expect(mp.rlmi!.fullState).toBe(true);
    expect(mp.rlmi!.resources).toHaveLength(N);
    const inst = instances(mp);
    expect(inst.get(aor("u0"))).toMatchObject({ state: "active" });
    expect(inst.get(aor("u0"))!.pidf).toContain("u0 online");
    expect(inst.get(aor("u1"))).toMatchObject({ state: "active" });
    expect(inst.get(aor("u300"))).toMatchObject({ state: "pending" });
    expect(inst.get(aor("u499"))).toMatchObject({ state: "terminated", reason: "rejected" });
    expect(mp.parts.length).toBe(1 + 250);
    await expectValidXml(new TextDecoder().decode(mp.root.body));
    await expectValidXml(new TextDecoder().decode(mp.parts[1]!.body));
    expect(pythonMultipart(first.getHeader("Content-Type")!, first.body).parts.length).toBe(251);
    expect(firstMs).toBeLessThan(10_000);

    // one PUBLISH → partial with that one resource
    let from = alice.notifies(sub).length;
    await pubs[1]!.publish(pidfDoc(aor("u1"), "open", "u1 online"));
    const p = await alice.waitForNotify((n) => n.bodyText.includes("u1 online"), { sub, from });
    const pm = parseListNotify(p);
    expect(pm.rlmi).toMatchObject({ fullState: false });
    expect(pm.rlmi!.resources.map((r) => r.uri)).toEqual([aor("u1")]);

    // burst: 5 users × 4 PUBLISHes → few NOTIFYs, final state right
    from = alice.notifies(sub).length;
    for (let k = 0; k < 4; k++) await Promise.all(pubs.map((c, i) => c.publish(pidfDoc(aor(`u${i}`), "open", `burst-${i}-${k}`), { etag: undefined })));
    await alice.waitForNotify(() => {
      const last = alice.notifies(sub).slice(from);
      const seen = new Set<string>();
      for (const n of last) for (let i = 0; i < 5; i++) if (n.bodyText.includes(`burst-${i}-3<`)) seen.add(`u${i}`);
      return seen.size === 5;
    }, { sub, from });
    const burst = alice.notifies(sub).slice(from);
    expect(burst.length).toBeLessThan(20);

    // list edit: drop the last 100 and add one → a full-state NOTIFY with 401 resources
    from = alice.notifies(sub).length;
    const t1 = Date.now();
    await xcap.put(ALICE, "resource-lists", resourceListsXml({ sipsimple_presence_rls: [...users.slice(0, 400).map((u) => aor(u)), "sip:alice@example.test"] }));
    const edited = await alice.waitForNotify(isList, { sub, from, timeoutMs: 1000 });
    expect(Date.now() - t1).toBeLessThan(1000);
    const em = parseListNotify(edited);
    expect(em.rlmi!.fullState).toBe(true);
    expect(em.rlmi!.resources).toHaveLength(401);
    expect(instances(em).get(ALICE)).toMatchObject({ state: "active" }); // own presence always visible
    expect(s.rls.pool.size).toBe(401);
  });
});

describe("RLS back end in another domain (B2BUA)", () => {
  it("subscribes over TCP to the other domain's server as the list owner and folds its NOTIFYs into the list", { timeout: 20_000 }, async () => {
    const OTHER = "other.test";
    const ZED = aor("zed", OTHER);
    // the other domain's server: serves other.test, and knows alice as a peer identity
    const otherXcap = new RlsXcap();
    await otherXcap.put(ZED, OMA_RULES, rulesXml(ZED, [{ id: "a", identities: [ALICE], handling: "allow" }]));
    const other = await startRlsServer({ xcap: otherXcap, accounts: accountsFor(["alice"], DOMAIN, accountsFor(["zed"], OTHER)) });
    cleanup.push(() => other.stop());
    const zed = await bigClient(other.port, "zed", { domain: OTHER });
    cleanup.push(() => zed.close());
    await zed.publish(pidfDoc(ZED, "open", "zed at home"));

    const xcap = new RlsXcap();
    await xcap.put(ALICE, "resource-lists", resourceListsXml({ sipsimple_presence_rls: [aor("bob"), ZED] }));
    await xcap.put(ALICE, "rls-services", rlsServicesXml(ALICE, "alice"));
    await xcap.put(aor("bob"), OMA_RULES, rulesXml(aor("bob"), [{ id: "a", identities: [ALICE], handling: "allow" }]));
    const s = await startRlsServer({
      xcap,
      rls: {
        batchWindowMs: 50,
        remote: {
          outbound: (d) => (d === OTHER ? { host: "127.0.0.1", port: other.port, transport: "TCP" } : undefined),
          credentials: (owner) => (owner === ALICE ? { username: "alice", password: PASSWORD } : undefined),
        },
      },
    });
    cleanup.push(() => s.stop());
    const alice = await bigClient(s.port, "alice");
    cleanup.push(() => alice.close());
    const { sub } = await alice.subscribe(LIST, { headers: LIST_HEADERS });
    const n = await alice.waitForNotify((x) => isList(x) && x.bodyText.includes("zed at home"), { sub, timeoutMs: 5000 });
    const inst = instances(parseListNotify(n));
    expect(inst.get(ZED)).toMatchObject({ state: "active" });
    expect(other.server.notifier.subscriptionsOf("presence", ZED).map((x) => x.watcher)).toEqual([ALICE]);

    const from = alice.notifies(sub).length;
    await zed.publish(pidfDoc(ZED, "closed", "zed went out"));
    const p = await alice.waitForNotify((x) => x.bodyText.includes("zed went out"), { sub, from, timeoutMs: 5000 });
    const pm = parseListNotify(p);
    expect(pm.rlmi!.fullState).toBe(false);
    expect(pm.rlmi!.resources.map((r) => r.uri)).toEqual([ZED]);
    expect(pm.parts[1]!.contentType).toBe(CONTENT_TYPES.pidf);

    // the list subscription ends → the back-end SUBSCRIBE is withdrawn
    await alice.resubscribe(sub!, 0);
    const deadline = Date.now() + 3000;
    while (other.server.notifier.subscriptionsOf("presence", ZED).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(other.server.notifier.subscriptionsOf("presence", ZED)).toHaveLength(0);
  });
});
