/**
 * RLS (RFC 4662) over real TCP: alice's Blink-style buddy list (rls-services → resource-lists
 * `sipsimple_presence_rls`, percent-encoded as python-sipsimple writes it) with bob (allows alice),
 * carol (confirm), dave (block), bob listed twice.
 */
import { afterEach, describe, expect, it } from "vitest";
import { parsePidf } from "@/lib/presence";
import type { SipRequest } from "@/lib/sip";
import { expectValidXml } from "../../unit/presence/xsd";
import type { SipTestClient } from "../../helpers/sip-client";
import {
  DOMAIN,
  LIST_HEADERS,
  OMA_RULES,
  RlsXcap,
  bigClient,
  blinkQuote,
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
import { MemoryPresenceStateStore } from "@/lib/server";
import { freePort } from "../../helpers/ports";
import { waitFor } from "../../helpers/wait";

const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
const CAROL = `sip:carol@${DOMAIN}`;
const DAVE = `sip:dave@${DOMAIN}`;
const ERIN = `sip:erin@${DOMAIN}`;
const LIST = serviceUri("alice");

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function seed(xcap: RlsXcap, members = [BOB, CAROL, DAVE, "sip:bob@EXAMPLE.test"]): Promise<void> {
  await xcap.put(BOB, OMA_RULES, rulesXml(BOB, [{ id: "a", identities: [ALICE], handling: "allow" }]));
  await xcap.put(CAROL, OMA_RULES, rulesXml(CAROL, [{ id: "a", identities: [ALICE], handling: "confirm" }]));
  await xcap.put(DAVE, OMA_RULES, rulesXml(DAVE, [{ id: "a", identities: [ALICE], handling: "block" }]));
  await xcap.put(ERIN, OMA_RULES, rulesXml(ERIN, [{ id: "a", identities: [ALICE], handling: "allow" }]));
  await xcap.put(ALICE, "resource-lists", resourceListsXml({ sipsimple_presence_rls: members, oma_buddylist: [BOB] }));
  await xcap.put(ALICE, "rls-services", rlsServicesXml(ALICE, "alice"));
}

async function setup(opts: Parameters<typeof startRlsServer>[0] = {}) {
  const s = await startRlsServer(opts);
  cleanup.push(() => s.stop());
  const c = async (user: string) => {
    const cl = await bigClient(s.port, user);
    cleanup.push(() => cl.close());
    return cl;
  };
  return { ...s, c };
}

const isList = (n: SipRequest) => (n.getHeader("Content-Type") ?? "").startsWith("multipart/related");

describe("RLS list subscriptions (3 resources)", () => {
  it("full state on subscribe: active with PIDF, pending, terminated;rejected, duplicates collapsed, valid RLMI/PIDF", async () => {
    const { xcap, c } = await setup();
    await seed(xcap);
    const bob = await c("bob");
    expect((await bob.publish(pidfDoc(BOB, "open", "Bob is here"))).status).toBe(200);
    const alice = await c("alice");
    const { response, sub } = await alice.subscribe(LIST, { headers: LIST_HEADERS });
    expect(response.status).toBe(200);
    expect(response.getHeader("Require")).toBe("eventlist");
    const n = await alice.waitForNotify(isList, { sub });
    expect(n.getHeader("Require")).toBe("eventlist");
    expect(n.getHeader("Subscription-State")).toMatch(/^active/);
    const mp = parseListNotify(n);
    expect(mp.type).toBe("application/rlmi+xml");
    const rlmi = mp.rlmi!;
    expect(rlmi).toMatchObject({ uri: LIST, version: 0, fullState: true });
    expect(rlmi.resources.map((r) => r.uri)).toEqual([BOB, CAROL, DAVE]);
    const inst = instances(mp);
    expect(inst.get(BOB)).toMatchObject({ state: "active" });
    expect(parsePidf(inst.get(BOB)!.pidf!).tuples[0]?.basic).toBe("open");
    expect(inst.get(CAROL)).toMatchObject({ state: "pending", cid: undefined });
    expect(inst.get(DAVE)).toMatchObject({ state: "terminated", reason: "rejected", cid: undefined });
    await expectValidXml(new TextDecoder().decode(mp.root.body));
    for (const p of mp.parts.slice(1)) await expectValidXml(new TextDecoder().decode(p.body));
  });

  it("a list member that is no account is 'noresource', one whose domain cannot be reached is 'probation' — neither 'pending'", async () => {
    const closed = await freePort(); // nothing listens there
    const { xcap, c } = await setup({ rls: { remote: { outbound: () => ({ host: "127.0.0.1", port: closed, transport: "TCP" }), retryMs: 60_000 } } });
    const GHOST = `sip:ghost@${DOMAIN}`;
    const FAR = "sip:someone@unreachable.test";
    await seed(xcap, [BOB, GHOST, FAR]);
    const alice = await c("alice");
    const { sub } = await alice.subscribe(LIST, { headers: LIST_HEADERS });
    // full state, then partial NOTIFYs: the latest instance of each member wins
    const latest = () => new Map(alice.notifies(sub).filter(isList).flatMap((n) => [...instances(parseListNotify(n))]));
    const inst = await waitFor(() => {
      const m = latest();
      return m.get(GHOST)?.state === "terminated" && m.get(FAR)?.state === "terminated" ? m : undefined;
    }, { what: "both members terminated" });
    expect(inst.get(GHOST)).toMatchObject({ state: "terminated", reason: "noresource" });
    expect(inst.get(FAR)).toMatchObject({ state: "terminated", reason: "probation" });
  });

  it("the multipart body parses with an independent MIME parser (Python's email package)", async () => {
    const { xcap, c } = await setup();
    await seed(xcap);
    const bob = await c("bob");
    await bob.publish(pidfDoc(BOB, "open", "Bob is here"));
    const alice = await c("alice");
    const { sub } = await alice.subscribe(LIST, { headers: LIST_HEADERS });
    const n = await alice.waitForNotify(isList, { sub });
    const py = pythonMultipart(n.getHeader("Content-Type")!, n.body);
    expect(py.type).toBe("application/rlmi+xml");
    expect(py.parts.length).toBe(2);
    expect(py.start).toBe(py.parts[0]!.contentId);
    expect(py.parts[0]!.body).toContain('fullState="true"');
    const bobCid = parseListNotify(n).rlmi!.resources[0]!.instances[0]!.cid!;
    expect(py.parts[1]!.contentId).toBe(`<${bobCid}>`);
    expect(py.parts[1]!.contentType).toBe("application/pidf+xml");
    expect(parsePidf(py.parts[1]!.body).entity).toBe(BOB);
  });

  it("partial NOTIFY after one contact's PUBLISH; pending → active when carol approves; refresh returns full state; unsubscribe terminates", async () => {
    const { xcap, c } = await setup({ rls: { batchWindowMs: 50 } });
    await seed(xcap);
    const bob = await c("bob");
    await bob.publish(pidfDoc(BOB, "open", "one"));
    const alice = await c("alice");
    const { sub } = await alice.subscribe(LIST, { headers: LIST_HEADERS });
    await alice.waitForNotify(isList, { sub });
    const from = alice.notifies(sub).length;
    await bob.publish(pidfDoc(BOB, "closed", "two"));
    const p = await alice.waitForNotify((n) => isList(n) && n.bodyText.includes("two"), { sub, from });
    const mp = parseListNotify(p);
    expect(mp.rlmi).toMatchObject({ version: 1, fullState: false });
    expect(mp.rlmi!.resources.map((r) => r.uri)).toEqual([BOB]);
    await expectValidXml(new TextDecoder().decode(mp.root.body));

    // carol's rules now allow alice: the pending instance becomes active (partial)
    const carol = await c("carol");
    await carol.publish(pidfDoc(CAROL, "open", "carol here"));
    await xcap.put(CAROL, OMA_RULES, rulesXml(CAROL, [{ id: "a", identities: [ALICE], handling: "allow" }]));
    const q = await alice.waitForNotify((n) => isList(n) && n.bodyText.includes("carol here"), { sub, from });
    expect(instances(parseListNotify(q)).get(CAROL)).toMatchObject({ state: "active" });

    // refresh → full state
    const before = alice.notifies(sub).length;
    expect((await alice.resubscribe(sub!, 600)).status).toBe(200);
    const full = await alice.waitForNotify(isList, { sub, from: before });
    const fm = parseListNotify(full);
    expect(fm.rlmi!.fullState).toBe(true);
    expect(fm.rlmi!.resources.length).toBe(3);
    expect(fm.rlmi!.version).toBeGreaterThan(mp.rlmi!.version);

    // unsubscribe → final NOTIFY terminated
    const u = alice.notifies(sub).length;
    expect((await alice.resubscribe(sub!, 0)).status).toBe(200);
    const last = await alice.waitForNotify((n) => /^terminated/.test(n.getHeader("Subscription-State") ?? ""), { sub, from: u });
    expect(last.getHeader("Require")).toBe("eventlist");
  });

  it("warmList (at sign-in) loads what the list will need without subscribing: the SUBSCRIBE then reads no rules document", async () => {
    const { xcap, c, rls, server } = await setup();
    await seed(xcap);
    const bob = await c("bob");
    expect((await bob.publish(pidfDoc(BOB, "open", "Bob is here"))).status).toBe(200);
    const rulesRead: string[] = [];
    const get = xcap.store.get.bind(xcap.store);
    xcap.store.get = (key) => {
      if (key.auid === OMA_RULES) rulesRead.push(String(key.xui));
      return get(key);
    };
    const subscriptionsBefore = server.notifier.size;
    await rls.warmList("alice@example.test");
    expect(new Set(rulesRead)).toEqual(new Set([BOB, CAROL, DAVE]));
    expect(server.notifier.size).toBe(subscriptionsBefore); // nothing subscribed, no watcher to see
    rulesRead.length = 0;
    const alice = await c("alice");
    const { sub } = await alice.subscribe(LIST, { headers: LIST_HEADERS });
    const inst = instances(parseListNotify(await alice.waitForNotify(isList, { sub })));
    expect(rulesRead).toEqual([]);
    expect([inst.get(BOB)?.state, inst.get(CAROL)?.state, inst.get(DAVE)?.state]).toEqual(["active", "pending", "terminated"]);
    expect(parsePidf(inst.get(BOB)!.pidf!).tuples[0]?.basic).toBe("open");
    // warming again, or for someone without a list, is harmless
    await rls.warmList(ALICE);
    await rls.warmList("nobody@example.test");
    expect(rulesRead).toEqual([]);
  });

  it("a list edit (XCAP) reaches the running subscription without a new SUBSCRIBE", async () => {
    const { xcap, c, server } = await setup({ rls: { batchWindowMs: 50 } });
    await seed(xcap);
    const erin = await c("erin");
    await erin.publish(pidfDoc(ERIN, "open", "erin online"));
    const alice = await c("alice");
    const { sub } = await alice.subscribe(LIST, { headers: LIST_HEADERS });
    await alice.waitForNotify(isList, { sub });
    const from = alice.notifies(sub).length;
    // add erin only: a partial NOTIFY with erin
    const t0 = Date.now();
    await xcap.put(ALICE, "resource-lists", resourceListsXml({ sipsimple_presence_rls: [BOB, CAROL, DAVE, ERIN] }));
    const added = await alice.waitForNotify((n) => isList(n) && n.bodyText.includes("erin online"), { sub, from, timeoutMs: 1000 });
    expect(Date.now() - t0).toBeLessThan(1000);
    const am = parseListNotify(added);
    expect(am.rlmi!.fullState).toBe(false);
    expect(instances(am).get(ERIN)).toMatchObject({ state: "active" });
    // remove dave and bob: full state without them
    const from2 = alice.notifies(sub).length;
    await xcap.put(ALICE, "resource-lists", resourceListsXml({ sipsimple_presence_rls: [CAROL, ERIN] }));
    const removed = await alice.waitForNotify(isList, { sub, from: from2, timeoutMs: 1000 });
    const rm = parseListNotify(removed);
    expect(rm.rlmi!.fullState).toBe(true);
    expect(rm.rlmi!.resources.map((r) => r.uri)).toEqual([CAROL, ERIN]);
    // dave's back end is gone (no internal subscription of alice to dave is left)
    expect(server.notifier.subscriptionsOf("presence", DAVE).filter((s) => s.watcher === ALICE)).toHaveLength(0);
  });

  it("a presentity that blocked the owner and changes its rules is asked again: unblock → pending, allow → active", async () => {
    const { xcap, c, server } = await setup({ rls: { batchWindowMs: 50 } });
    await seed(xcap);
    const dave = await c("dave");
    await dave.publish(pidfDoc(DAVE, "open", "dave online"));
    const { sub: winfo } = await dave.subscribe(DAVE, { event: "presence.winfo", headers: [["Accept", "application/watcherinfo+xml"]] });
    const alice = await c("alice");
    const { sub } = await alice.subscribe(LIST, { headers: LIST_HEADERS });
    expect(instances(parseListNotify(await alice.waitForNotify(isList, { sub }))).get(DAVE)).toMatchObject({ state: "terminated", reason: "rejected" });
    // an allow, a block again (the running back end ends), then an unblock
    let from = alice.notifies(sub).length;
    await xcap.put(DAVE, OMA_RULES, rulesXml(DAVE, [{ id: "a", identities: [ALICE], handling: "allow" }]));
    await alice.waitForNotify((n) => isList(n) && instances(parseListNotify(n)).get(DAVE)?.state === "active", { sub, from });
    from = alice.notifies(sub).length;
    await xcap.put(DAVE, OMA_RULES, rulesXml(DAVE, [{ id: "a", identities: [ALICE], handling: "block" }]));
    await alice.waitForNotify((n) => isList(n) && instances(parseListNotify(n)).get(DAVE)?.reason === "rejected", { sub, from });
    // dave unblocks alice: she falls back to confirm (Blink's unlisted-watcher rule)
    from = alice.notifies(sub).length;
    await xcap.put(DAVE, OMA_RULES, rulesXml(DAVE, [{ id: "a", identities: [ALICE], handling: "confirm" }]));
    const pending = await alice.waitForNotify((n) => isList(n) && instances(parseListNotify(n)).get(DAVE)?.state === "pending", { sub, from });
    expect(parseListNotify(pending).rlmi!.fullState).toBe(false);
    // dave's watcher info now lists alice as a pending watcher to decide on
    await dave.waitForNotify((n) => /status="pending"[^>]*>sip:alice@/.test(n.bodyText), { sub: winfo });
    // an internal (RLS) subscription never expires: no expiration attribute, and valid RFC 3858
    for (const n of dave.notifies(winfo)) {
      expect(n.bodyText).not.toContain("expiration=");
      await expectValidXml(n.bodyText);
    }
    expect(server.notifier.subscriptionsOf("presence", DAVE).filter((s) => s.watcher === ALICE).map((s) => s.status)).toEqual(["pending"]);
    // then dave allows alice: active with his PIDF
    from = alice.notifies(sub).length;
    await xcap.put(DAVE, OMA_RULES, rulesXml(DAVE, [{ id: "a", identities: [ALICE], handling: "allow" }]));
    const active = await alice.waitForNotify((n) => isList(n) && n.bodyText.includes("dave online"), { sub, from });
    expect(instances(parseListNotify(active)).get(DAVE)).toMatchObject({ state: "active" });
  });

  it("a burst of PUBLISHes leaves as fewer NOTIFYs within the batch window, with the final state", async () => {
    const { xcap, c } = await setup({ rls: { batchWindowMs: 200 } });
    await seed(xcap, [BOB, ERIN]);
    const bob = await c("bob");
    const erin = await c("erin");
    let r = await bob.publish(pidfDoc(BOB, "open", "b0"));
    await erin.publish(pidfDoc(ERIN, "open", "e0"));
    const alice = await c("alice");
    const { sub } = await alice.subscribe(LIST, { headers: LIST_HEADERS });
    await alice.waitForNotify(isList, { sub });
    const from = alice.notifies(sub).length;
    const N = 10;
    for (let i = 1; i <= N; i++) {
      r = await bob.publish(pidfDoc(BOB, "open", `b${i}`), { etag: r.getHeader("SIP-ETag") });
      await erin.publish(pidfDoc(ERIN, "open", `e${i}`));
    }
    await alice.waitForNotify((n) => n.bodyText.includes(`b${N}<`) && n.bodyText.includes(`e${N}<`), { sub, from, timeoutMs: 3000 });
    await new Promise((res) => setTimeout(res, 300));
    const got = alice.notifies(sub).slice(from);
    expect(got.length).toBeLessThan(2 * N);
    expect(got.length).toBeLessThanOrEqual(Math.ceil(2 * N / 2));
    const last = parseListNotify(got[got.length - 1]!);
    const inst = instances(last);
    expect(inst.get(BOB)?.pidf).toContain(`b${N}<`);
    expect(inst.get(ERIN)?.pidf).toContain(`e${N}<`);
    // versions increase by one per NOTIFY
    const versions = got.map((n) => parseListNotify(n).rlmi!.version);
    versions.forEach((v, i) => i > 0 && expect(v).toBe(versions[i - 1]! + 1));
  });

  it("refuses: non-owner → 403, no eventlist → 421 Require: eventlist, unknown list → plain presence", async () => {
    const { xcap, c } = await setup();
    await seed(xcap);
    const bob = await c("bob");
    expect((await bob.subscribe(LIST, { headers: LIST_HEADERS })).response.status).toBe(403);
    const alice = await c("alice");
    const r = await alice.subscribe(LIST);
    expect(r.response.status).toBe(421);
    expect(r.response.getHeader("Require")).toBe("eventlist");
    // a plain presentity with Supported: eventlist is still a presence subscription
    const plain = await alice.subscribe(BOB, { headers: LIST_HEADERS });
    expect(plain.response.status).toBe(200);
    expect(plain.response.getHeader("Require")).toBeUndefined();
  });

  it("an inline list with nested lists, entry-ref and external anchors (Blink-quoted)", async () => {
    const { xcap, c } = await setup();
    await seed(xcap);
    await xcap.put(ALICE, "resource-lists", resourceListsXml({ friends: [CAROL], sipsimple_presence_rls: [BOB] }));
    const ref = blinkQuote(`resource-lists/users/${ALICE}/index/~~/resource-lists/list%5B@name=%22sipsimple_presence_rls%22%5D/entry%5B1%5D`);
    await xcap.put(
      ALICE,
      "rls-services",
      `<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists">
  <service uri="${LIST}">
    <list>
      <rl:entry uri="${DAVE}"><rl:display-name>Dave</rl:display-name></rl:entry>
      <rl:list name="nested"><rl:entry uri="${ERIN}"/></rl:list>
      <rl:entry-ref ref="${ref}"/>
      <rl:external anchor="${blinkQuote(`https://xcap.example.test/xcap-root/resource-lists/users/${ALICE}/index/~~/resource-lists/list%5B@name=%22friends%22%5D`)}"/>
      <rl:entry uri="${ERIN}"/>
    </list>
    <packages><package>presence</package></packages>
  </service>
</rls-services>`,
    );
    const alice = await c("alice");
    const { sub } = await alice.subscribe(LIST, { headers: LIST_HEADERS });
    const n = await alice.waitForNotify(isList, { sub });
    const rlmi = parseListNotify(n).rlmi!;
    expect(rlmi.resources.map((r) => r.uri)).toEqual([DAVE, ERIN, BOB, CAROL]);
    expect(rlmi.resources[0]!.names[0]?.text).toBe("Dave");
  });

  /** Alice's list subscribed (by `client` of the first server), then the server restarted on the same state. */
  async function restartWithList(client: (first: Awaited<ReturnType<typeof startRlsServer>>) => Promise<SipTestClient>) {
    const state = new MemoryPresenceStateStore();
    const xcap = new RlsXcap();
    await seed(xcap);
    const first = await startRlsServer({ state, xcap });
    let firstStopped = false;
    cleanup.push(() => (firstStopped ? undefined : first.stop()));
    const alice = await client(first);
    cleanup.push(() => alice.close());
    const { sub } = await alice.subscribe(LIST, { headers: LIST_HEADERS });
    const n0 = await alice.waitForNotify(isList, { sub });
    await first.server.flush();
    await first.stop();
    firstStopped = true;
    const second = await startRlsServer({ state, xcap });
    cleanup.push(() => second.stop());
    return { state, alice, sub, n0, second };
  }

  it("a list subscription survives a restart: full state to the watcher's contact, then partial NOTIFYs in-dialog", async () => {
    const { alice, sub, n0, second } = await restartWithList(async (first) => {
      const c = await bigClient(first.port, "alice");
      await c.listen();
      return c;
    });
    const v0 = parseListNotify(n0).rlmi!.version;
    expect(second.rls.size).toBe(1);
    const from = alice.notifies(sub).length;
    const full = await alice.waitForNotify(isList, { sub, from });
    const fm = parseListNotify(full).rlmi!;
    expect(fm.fullState).toBe(true);
    expect(fm.version).toBe(v0 + 1);
    const bob = await bigClient(second.port, "bob");
    cleanup.push(() => bob.close());
    await bob.publish(pidfDoc(BOB, "open", "after restart"));
    const p = await alice.waitForNotify((x) => x.bodyText.includes("after restart"), { sub, from });
    expect(parseListNotify(p).rlmi!.fullState).toBe(false);
  });

  it("a restored list of a bridged page (its in-process flow died with the process) ends at once: no back end is built for it", async () => {
    // the page's SIP over an in-process flow, its Contact on the flow's address (0.0.0.0), as the bridge makes it
    const { state, second } = await restartWithList((first) => bigClient(first.port, "alice", { stream: () => first.server.transport.openFlow({ owner: ALICE }) }));
    expect(second.rls.size).toBe(0);
    expect(second.rls.pool.size).toBe(0);
    expect(second.server.notifier.stats.internal).toBe(0); // no back end ever reported a state
    expect([...second.server.notifier.all()].filter((s) => s.event === "presence")).toEqual([]);
    await second.server.flush();
    expect((await state.load("subscription")).length).toBe(0);
  });
});

export type { SipTestClient };
