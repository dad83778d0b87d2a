/**
 * The gateway's subscription semantics against Herald's real presence server over real SIP, with
 * the XMPP side faked (tests/helpers/fake-xmpp-link.ts) so each stanza is under the test's control:
 * shared virtual subscriptions, "subscribe; probe once subscribed has arrived", idempotence on
 * duplicates and bare-JID unavailable, the RLS's back end through the gateway.
 */
import { afterEach, describe, expect, it } from "vitest";
import { PresenceServer, ResourceListServer } from "@/lib/server";
import type { SipRequest } from "@/lib/sip";
import { XmppGateway, type XmppGatewayOptions } from "@/lib/xmpp/gateway";
import { XcapFixture, accounts, allowRules, client, DOMAIN } from "../server/harness";
import { LIST_HEADERS, RlsXcap, resourceListsXml, rlsServicesXml, serviceUri } from "../server/rls-harness";
import { FakeXmppLink } from "../../helpers/fake-xmpp-link";
import { waitFor } from "../../helpers/wait";

const BOB = "sip:bob@xmpp.example";
const ALICE = `sip:alice@${DOMAIN}`;

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(opts: { rls?: boolean; gateway?: Partial<XmppGatewayOptions> } = {}) {
  // documents through Herald's XCAP core when the RLS reads them (service URIs), else stored directly
  const xcap = opts.rls ? new RlsXcap() : new XcapFixture();
  const link = new FakeXmppLink();
  const server = new PresenceServer({ listen: { host: "127.0.0.1", tcpPort: 0 }, accounts: accounts(), xcap: { store: xcap.store, subscribe: xcap.subscribe }, notifyIntervalMs: 0, persistDelayMs: 20 });
  const gateway = new XmppGateway({ server, link, componentDomain: DOMAIN, xmppDomains: ["xmpp.example"], xcap: { store: xcap.store, subscribe: xcap.subscribe }, ...opts.gateway });
  const rls = opts.rls ? new ResourceListServer({ server, store: xcap.store, subscribe: xcap.subscribe, remote: { outbound: () => undefined } }) : undefined;
  const addr = await server.start();
  gateway.start();
  await rls?.start();
  cleanup.push(async () => {
    rls?.stop();
    gateway.stop();
    await server.stop();
  });
  const c = async (user: string) => {
    const cl = await client(addr.tcp!.port, user);
    cleanup.push(() => cl.close());
    return cl;
  };
  return { server, gateway, link, xcap, c };
}

const body = (n: SipRequest) => n.body.toString("utf8");

describe("SIP → XMPP virtual subscriptions", () => {
  it("two SIP subscriptions of one watcher share one XMPP subscription; probe only once subscribed has arrived, once", async () => {
    const { link, c, gateway } = await setup();
    const a1 = await c("alice");
    const a2 = await c("alice");
    const s1 = await a1.subscribe(BOB);
    const s2 = await a2.subscribe(BOB);
    expect(s1.response.status).toBe(200);
    expect(s2.response.status).toBe(200);
    expect(link.matching(/type="subscribe"/)).toEqual([`<presence from="alice@example.test" to="bob@xmpp.example" type="subscribe"/>`]);
    expect(link.matching(/type="probe"/)).toHaveLength(0);
    await a1.waitForNotify((n) => n.subscriptionState?.value === "pending", { sub: s1.sub });
    // Prosody's acknowledgement of the subscribe: a bare-JID unavailable — nothing to tell anybody
    const before = a1.notifies(s1.sub).length;
    link.deliver({ from: "bob@xmpp.example", to: "alice@example.test", type: "unavailable" });
    link.deliver({ from: "bob@xmpp.example", to: "alice@example.test", type: "subscribed" });
    link.deliver({ from: "bob@xmpp.example", to: "alice@example.test", type: "subscribed" }); // duplicate
    expect(link.matching(/type="probe"/)).toEqual([`<presence from="alice@example.test" to="bob@xmpp.example" type="probe"/>`]);
    await a1.waitForNotify((n) => n.subscriptionState?.value === "active", { sub: s1.sub, from: before });
    await a2.waitForNotify((n) => n.subscriptionState?.value === "active", { sub: s2.sub });
    expect(gateway.contacts.virtual.size).toBe(1);
    // two resources → two tuples; the second resource's dnd → busy
    link.deliver({ from: "bob@xmpp.example/phone", to: "alice@example.test", show: "away", statuses: [{ text: "Walking", lang: "en" }] });
    link.deliver({ from: "bob@xmpp.example/laptop", to: "alice@example.test", show: "dnd", statuses: [{ text: "Coding", lang: "en" }, { text: "Programmiere", lang: "de" }], priority: 10 });
    const n = await a1.waitForNotify((x) => /laptop/.test(body(x)) && /phone/.test(body(x)), { sub: s1.sub });
    expect(body(n).match(/<tuple /g)).toHaveLength(2);
    expect(body(n)).toContain('<note xml:lang="de">Programmiere</note>');
    // a duplicate of the same presence changes nothing: no NOTIFY
    const count = a1.notifies(s1.sub).length;
    link.deliver({ from: "bob@xmpp.example/laptop", to: "alice@example.test", show: "dnd", statuses: [{ text: "Coding", lang: "en" }, { text: "Programmiere", lang: "de" }], priority: 10 });
    link.deliver({ from: "bob@xmpp.example/phone", to: "alice@example.test", type: "unavailable" });
    await a1.waitForNotify((x) => !/phone/.test(body(x)) && /laptop/.test(body(x)), { sub: s1.sub, from: count });
    expect(a1.notifies(s1.sub).length).toBe(count + 1);
    // ending one SIP subscription keeps the virtual one; the last ends it without touching the roster
    await a2.resubscribe(s2.sub!, 0);
    expect(gateway.contacts.virtual.size).toBe(1);
    await a1.resubscribe(s1.sub!, 0);
    await waitFor(() => gateway.contacts.virtual.size === 0);
    expect(link.matching(/type="unsubscribe"/)).toHaveLength(0);
  });

  it("removing the XMPP contact from the buddy list sends unsubscribe; other list edits send nothing", async () => {
    const { link, c, xcap } = await setup();
    // Blink's layout, every URI percent-encoded as python-sipsimple writes it
    const blink = (uris: string[]) => resourceListsXml({ sipsimple_presence_rls: uris, oma_buddylist: uris });
    await xcap.put(ALICE, "resource-lists", blink([BOB, "sip:carol@example.test"]));
    const a = await c("alice");
    await a.subscribe(BOB);
    await xcap.put(ALICE, "resource-lists", blink([BOB, "sip:carol@example.test", "sip:dave@example.test"])); // still listed
    await xcap.put(ALICE, "resource-lists", blink(["sip:carol@example.test"]));
    await waitFor(() => link.matching(/type="unsubscribe"/).length === 1);
    expect(link.matching(/type="unsubscribe"/)).toEqual([`<presence from="alice@example.test" to="bob@xmpp.example" type="unsubscribe"/>`]);
  });

  it("unsubscribed from the contact ends the SIP subscriptions with reason rejected", async () => {
    const { link, c } = await setup();
    const a = await c("alice");
    const s = await a.subscribe(BOB);
    link.deliver({ from: "bob@xmpp.example", to: "alice@example.test", type: "unsubscribed" });
    const n = await a.waitForNotify((x) => x.subscriptionState?.value === "terminated", { sub: s.sub });
    expect(n.subscriptionState?.param("reason")).toBe("rejected");
  });

  it("only users of the component's domain may watch XMPP contacts (the XMPP server routes replies there only)", async () => {
    const { server, link } = await setup();
    await expect(server.subscribeInternal("sip:bob@other.test", BOB, () => {})).rejects.toMatchObject({ status: 403 });
    expect(link.sent).toHaveLength(0);
  });

  it("after the XMPP connection comes back: subscribe again, or probe when subscribed", async () => {
    const { link, c } = await setup();
    const a = await c("alice");
    await a.subscribe(BOB);
    await a.subscribe("sip:erin@xmpp.example");
    link.deliver({ from: "bob@xmpp.example", to: "alice@example.test", type: "subscribed" });
    link.sent.length = 0;
    link.online = false;
    link.goOnline();
    expect(link.sent.sort()).toEqual([
      `<presence from="alice@example.test" to="bob@xmpp.example" type="probe"/>`,
      `<presence from="alice@example.test" to="erin@xmpp.example" type="subscribe"/>`,
    ]);
  });

  it("the buddy list's RLS back end to an XMPP contact goes through the gateway", async () => {
    const { link, c, xcap } = await setup({ rls: true });
    await xcap.put(ALICE, "resource-lists", resourceListsXml({ sipsimple_presence_rls: [BOB] }));
    await xcap.put(ALICE, "rls-services", rlsServicesXml(ALICE, "alice"));
    const a = await c("alice");
    const list = await a.subscribe(serviceUri("alice"), { headers: LIST_HEADERS });
    expect(list.response.status).toBe(200);
    await waitFor(() => link.matching(/to="bob@xmpp.example" type="subscribe"/).length === 1);
    link.deliver({ from: "bob@xmpp.example", to: "alice@example.test", type: "subscribed" });
    link.deliver({ from: "bob@xmpp.example/phone", to: "alice@example.test", show: "xa", statuses: [{ text: "On holiday" }] });
    await a.waitForNotify((n) => /extended-away/.test(body(n)) && /On holiday/.test(body(n)), { sub: list.sub });
  });
});

describe("XMPP → SIP subscriptions", () => {
  it("duplicate subscribes make one SIP subscription; a probe while pending answers nothing; Allow sends subscribed once, then presence", async () => {
    const { link, server, xcap, c } = await setup();
    const alice = await c("alice");
    await alice.publish(`<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${ALICE}"><tuple id="t"><status><basic>open</basic></status><note>Hi</note></tuple></presence>`);
    link.deliver({ from: "bob@xmpp.example/phone", to: "alice@example.test", type: "subscribe" });
    link.deliver({ from: "bob@xmpp.example", to: "alice@example.test", type: "subscribe" });
    await waitFor(() => [...server.notifier.all()].filter((s) => s.watcher === BOB).length === 1);
    const sub = [...server.notifier.all()].find((s) => s.watcher === BOB)!;
    await waitFor(() => sub.status === "pending");
    link.deliver({ from: "bob@xmpp.example", to: "alice@example.test", type: "probe" });
    expect(link.sent).toHaveLength(0);
    expect([...server.notifier.all()].filter((s) => s.watcher === BOB)).toHaveLength(1);
    await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB]));
    await waitFor(() => link.matching(/<status>Hi<\/status>/).length === 1);
    expect(link.sent[0]).toBe(`<presence from="alice@example.test" to="bob@xmpp.example" type="subscribed"/>`);
    // a probe (the XMPP user logged in again) gets the current presence again
    link.deliver({ from: "bob@xmpp.example", to: "alice@example.test", type: "probe" });
    expect(link.matching(/<status>Hi<\/status>/)).toHaveLength(2);
    expect(link.matching(/type="subscribed"/)).toHaveLength(1);
    // unsubscribe from the XMPP user ends the SIP subscription
    link.deliver({ from: "bob@xmpp.example", to: "alice@example.test", type: "unsubscribe" });
    await waitFor(() => [...server.notifier.all()].every((s) => s.watcher !== BOB));
  });

  it("stanzas from domains outside XMPP_DOMAINS, or to other domains, make no SIP subscription", async () => {
    const { link, server } = await setup();
    link.deliver({ from: "mallory@evil.example", to: "alice@example.test", type: "subscribe" });
    link.deliver({ from: "carol@example.test", to: "alice@example.test", type: "subscribe" });
    link.deliver({ from: "bob@xmpp.example", to: "alice@other.test", type: "subscribe" });
    await new Promise((r) => setImmediate(r));
    expect([...server.notifier.all()]).toHaveLength(0);
  });

  it("polite-block (the buddy list's Block) answers unsubscribed, never subscribed, and ends the SIP subscription; also for an approved watcher", async () => {
    const { link, server, xcap } = await setup();
    const ERIN = "sip:erin@xmpp.example";
    const watching = (w: string) => [...server.notifier.all()].some((s) => s.watcher === w && s.status !== "terminated");
    // erin is polite-blocked from the start: active with the neutral document on the SIP side
    await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [ERIN], "polite-block"));
    link.deliver({ from: "erin@xmpp.example/pc", to: "alice@example.test", type: "subscribe" });
    await waitFor(() => link.matching(/to="erin@xmpp.example" type="unsubscribed"/).length === 1, { what: "unsubscribed to erin" });
    expect(link.matching(/to="erin@xmpp.example"/)).toEqual([`<presence from="alice@example.test" to="erin@xmpp.example" type="unsubscribed"/>`]);
    await waitFor(() => !watching(ERIN), { what: "erin's SIP subscription to end" });
    // bob is allowed first (subscribed, presence), then polite-blocked: unsubscribed, subscription gone
    await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB]));
    link.deliver({ from: "bob@xmpp.example", to: "alice@example.test", type: "subscribe" });
    await waitFor(() => link.matching(/to="bob@xmpp.example" type="subscribed"/).length === 1, { what: "subscribed to bob" });
    await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB], "polite-block"));
    await waitFor(() => link.matching(/to="bob@xmpp.example" type="unsubscribed"/).length === 1, { what: "unsubscribed to bob" });
    await waitFor(() => !watching(BOB), { what: "bob's SIP subscription to end" });
    // a probe afterwards is refused again, not answered with presence
    const sent = link.sent.length;
    link.deliver({ from: "bob@xmpp.example", to: "alice@example.test", type: "probe" });
    await waitFor(() => link.sent.length > sent);
    expect(link.sent.slice(sent)).toEqual([`<presence from="alice@example.test" to="bob@xmpp.example" type="unsubscribed"/>`]);
  });

  it("one XMPP user holds at most maxSubscriptionsPerUser SIP subscriptions: one more is a policy-violation error and creates nothing", async () => {
    const { link, server, gateway } = await setup({ gateway: { maxSubscriptionsPerUser: 2 } });
    const of = (w: string) => [...server.notifier.all()].filter((s) => s.watcher === w && s.status !== "terminated");
    for (const u of ["alice", "carol"]) link.deliver({ from: "bob@xmpp.example/pc", to: `${u}@example.test`, type: "subscribe" });
    await waitFor(() => of(BOB).length === 2);
    link.deliver({ from: "bob@xmpp.example/pc", to: "dave@example.test", type: "subscribe" });
    link.deliver({ from: "bob@xmpp.example/pc", to: "dave@example.test", type: "probe" });
    const refusal = `<presence from="dave@example.test" to="bob@xmpp.example" type="error"><error type="wait"><policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">Too many subscriptions through the gateway (at most 2 per user)</text></error></presence>`;
    expect(link.matching(/to="bob@xmpp.example" type="error"/)).toEqual([refusal, refusal]);
    expect(of(BOB)).toHaveLength(2);
    // a duplicate of one already held is no new subscription; another XMPP user has a bound of their own
    link.deliver({ from: "bob@xmpp.example/pc", to: "alice@example.test", type: "subscribe" });
    link.deliver({ from: "erin@xmpp.example/pc", to: "dave@example.test", type: "subscribe" });
    await waitFor(() => of("sip:erin@xmpp.example").length === 1);
    expect(of(BOB).map((s) => s.resource).sort()).toEqual([ALICE, "sip:carol@example.test"]);
    expect(gateway.watcherCount).toBe(3);
    // an ended subscription frees its place
    link.deliver({ from: "bob@xmpp.example", to: "alice@example.test", type: "unsubscribe" });
    await waitFor(() => of(BOB).length === 1);
    link.deliver({ from: "bob@xmpp.example/pc", to: "dave@example.test", type: "subscribe" });
    await waitFor(() => of(BOB).some((s) => s.resource === "sip:dave@example.test"));
    expect(link.matching(/to="bob@xmpp.example" type="error"/)).toHaveLength(2);
  });
});
