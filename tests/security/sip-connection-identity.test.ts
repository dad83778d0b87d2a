/**
 * Who is on the other end of a SIP connection (issue 11, items 1, 2 and 5): connection ids unique
 * per transport run, `;alias` (RFC 5923 §9) and address reuse only for the subscriber's own
 * connections, registrar contact lookups per AOR, dialogs owned by their watcher, in-process flows
 * reached by id only, digest nonces of an earlier run answered stale. Real sockets, real servers.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryPresenceStateStore, type PresenceServer } from "@/lib/server";
import { RemoteSubscriber, type BackEndState } from "@/lib/server/rls";
import {
  SipRequest,
  SipStreamParser,
  SipTransport,
  buildDigestAuthorization,
  createRequest,
  createResponse,
  generateTag,
  parseDigestHeader,
  serializeMessage,
  type SipConnection,
} from "@/lib/sip";
import { pidf, type ClientSubscription, type SipTestClient } from "../helpers/sip-client";
import { waitFor } from "../helpers/wait";
import { DOMAIN, PASSWORD, XcapFixture, allowRules, client, startServer } from "../integration/server/harness";

const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
const DAVE = `sip:dave@${DOMAIN}`;

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function server(overrides: Parameters<typeof startServer>[0] = {}, xcap?: XcapFixture) {
  const s = await startServer(overrides, xcap);
  let stopped = false;
  cleanup.push(() => (stopped ? undefined : s.server.stop()));
  return { ...s, stop: () => ((stopped = true), s.server.stop()) };
}

async function ua(port: number, user: string, extra: Parameters<typeof client>[2] = {}): Promise<SipTestClient> {
  const c = await client(port, user, extra);
  cleanup.push(() => c.close());
  return c;
}

/** alice lets bob see her; bob subscribes and has his first NOTIFY. */
async function bobWatchesAlice(port: number, xcap: XcapFixture, server: PresenceServer) {
  await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB]));
  const bob = await ua(port, "bob");
  const { sub } = await bob.subscribe(ALICE, { expires: 3600 });
  await bob.waitForNotify(() => true, { sub });
  // one round trip more: the server has had bob's 200 to that NOTIFY (nothing left in flight)
  expect((await bob.sendRequest(bob.build("OPTIONS", `sip:${DOMAIN}`, { contact: false }))).status).toBe(200);
  const serverSub = [...server.notifier.all()].find((s) => s.watcher === BOB)!;
  return { bob, sub: sub!, serverSub };
}

/** alice publishes `note`; resolves once `subId` is gone from the notifier (its watcher was unreachable). */
async function publishUntilEnded(port: number, server: PresenceServer, subId: string, note: string) {
  const alice = await ua(port, "alice");
  expect((await alice.publish(pidf(ALICE, "open", note))).status).toBe(200);
  await waitFor(() => server.notifier.get(subId) === undefined, { what: "bob's subscription to end (his connection gone, his contact unreachable)" });
}

function notifiesTo(c: SipTestClient, note: string): SipRequest[] {
  return c.received.filter((r) => r.method === "NOTIFY" && r.bodyText.includes(note));
}

describe("connection ids", () => {
  it("carry a random run id per transport: two instances (two process runs) never hand out the same id", async () => {
    const ids: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const t = new SipTransport({ tcp: { host: "127.0.0.1", port: 0 } });
      cleanup.push(() => t.close());
      const port = (await t.listen()).tcp!.port;
      const seen: SipConnection[] = [];
      t.on("connection", (c) => seen.push(c));
      t.openFlow();
      const s = net.connect({ host: "127.0.0.1", port });
      s.on("error", () => {});
      cleanup.push(() => s.destroy());
      await waitFor(() => seen.length === 2, { what: "flow and TCP connection" });
      ids.push(seen.map((c) => c.id));
      expect(seen.map((c) => c.id)).toEqual([`flow-${t.runId}-1`, `tcp-${t.runId}-2`]);
      // an id of the earlier run (as a restored registration keeps it) names nothing here
      if (run === 1) for (const old of ids[0]) expect(t.getConnection(old)).toBeUndefined();
    }
    expect(new Set(ids.flat()).size).toBe(4);
  });
});

describe("NOTIFY routing: never over a connection that belongs to someone else", () => {
  it("an unauthenticated OPTIONS offering bob's contact as its ;alias does not capture bob's NOTIFYs once his connection drops", async () => {
    const { server: s, port, xcap } = await server();
    const { bob, serverSub } = await bobWatchesAlice(port, xcap, s);
    const attacker = await ua(port, "mallory", { password: undefined });
    const options = attacker.build("OPTIONS", `sip:${DOMAIN}`, { contact: false });
    options.setHeader("Via", `SIP/2.0/TCP 127.0.0.1:${bob.localPort};branch=z9hG4bK${generateTag()};rport;alias`);
    expect((await attacker.sendRequest(options)).status).toBe(200);
    // the alias was not taken: bob's contact still resolves to bob's own connection only
    expect(s.transport.findConnection("127.0.0.1", bob.localPort)?.id).toBe(serverSub.connectionId);

    s.transport.getConnection(serverSub.connectionId!)!.destroy();
    await waitFor(() => bob.closed, { what: "bob's connection closed" });
    await publishUntilEnded(port, s, serverSub.id, "for-bob-only");
    expect(notifiesTo(attacker, "for-bob-only")).toEqual([]);
    expect(attacker.received.filter((r) => r.method === "NOTIFY")).toEqual([]);
  });

  it("another user registering bob's contact (Contact and ;alias) gets none of bob's NOTIFYs: contact lookups stay within the subscriber's AOR", async () => {
    const { server: s, port, xcap } = await server();
    const { bob, serverSub } = await bobWatchesAlice(port, xcap, s);
    const bobContact = `sip:bob@127.0.0.1:${bob.localPort};transport=tcp`;
    const dave = await ua(port, "dave");
    const reg = await dave.requestWithAuth(() => {
      const r = dave.build("REGISTER", `sip:${DOMAIN}`, { to: `<${DAVE}>`, callId: dave.callId, fromTag: dave.fromTag, headers: [["Expires", "600"]] });
      r.setHeader("Contact", `<${bobContact}>`);
      r.setHeader("Via", `SIP/2.0/TCP 127.0.0.1:${bob.localPort};branch=z9hG4bK${generateTag()};rport;alias`);
      return r;
    });
    expect(reg.status).toBe(200);
    expect(s.registrar.findByContact(DAVE, bobContact)).toBeDefined(); // dave's binding exists…
    expect(s.registrar.findByContact(BOB, bobContact)).toBeUndefined(); // …and is not bob's

    s.transport.getConnection(serverSub.connectionId!)!.destroy();
    await waitFor(() => bob.closed, { what: "bob's connection closed" });
    await publishUntilEnded(port, s, serverSub.id, "still-for-bob-only");
    expect(dave.received.filter((r) => r.method === "NOTIFY")).toEqual([]);
  });

  it("still finds the subscriber's own flow: bob's NOTIFYs move to the connection bob registered his contact from", async () => {
    const { server: s, port, xcap } = await server();
    await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB]));
    const registered = await ua(port, "bob");
    const bobContact = `sip:bob@127.0.0.1:${registered.localPort};transport=tcp`;
    expect((await registered.register(3600)).status).toBe(200);
    // the SUBSCRIBE comes over another connection, with the same Contact
    const subscriber = await ua(port, "bob");
    const { sub } = await subscriber.requestWithAuth(() => {
      const r = subscriber.build("SUBSCRIBE", ALICE, { headers: [["Event", "presence"], ["Expires", "3600"]] });
      r.setHeader("Contact", `<${bobContact}>`);
      return r;
    }).then(async (response) => ({ response, sub: [...s.notifier.all()].find((x) => x.watcher === BOB)! }));
    await subscriber.waitForNotify(() => true);
    // one round trip more: the server has had the 200 to that NOTIFY (same connection, in order)
    expect((await subscriber.sendRequest(subscriber.build("OPTIONS", `sip:${DOMAIN}`, { contact: false }))).status).toBe(200);
    s.transport.getConnection(sub.connectionId!)!.destroy();
    await waitFor(() => subscriber.closed, { what: "the subscribing connection closed" });
    const alice = await ua(port, "alice");
    expect((await alice.publish(pidf(ALICE, "open", "via-registration"))).status).toBe(200);
    await registered.waitForNotify((n) => n.bodyText.includes("via-registration"));
    expect(s.notifier.get(sub.id)).toBeDefined();
  });

  it("after a restart, a new in-process flow that got bob's old flow port and id counter never receives bob's NOTIFYs", async () => {
    const state = new MemoryPresenceStateStore();
    const xcap = new XcapFixture();
    await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB]));
    const first = await server({ state }, xcap);
    // bob is the first connection of the run, over a flow: registered and subscribed over it
    const bob = await ua(first.port, "bob", { stream: () => first.server.transport.openFlow() });
    expect((await bob.register(3600)).status).toBe(200);
    const { sub } = await bob.subscribe(ALICE, { expires: 3600 });
    await bob.waitForNotify(() => true, { sub });
    const subId = [...first.server.notifier.all()].find((x) => x.watcher === BOB)!.id;
    await first.stop();

    const second = await server({ state }, xcap);
    expect(second.server.notifier.get(subId)).toBeDefined();
    // the first connection of the new run: a flow with bob's old port, owned by nobody (or by dave)
    const attacker = await ua(second.port, "dave", { stream: () => second.server.transport.openFlow({ owner: DAVE }) });
    expect(attacker.localPort).toBe(bob.localPort);
    await publishUntilEnded(second.port, second.server, subId, "after-restart");
    expect(attacker.received.filter((r) => r.method === "NOTIFY")).toEqual([]);
  });
});

describe("dialog ownership: an in-dialog SUBSCRIBE from another connection must prove to be the watcher", () => {
  const inDialog = (c: SipTestClient, sub: ClientSubscription) =>
    sub.dialog.createRequest("SUBSCRIBE", {
      via: { transport: "TCP", host: "127.0.0.1", port: c.localPort },
      contact: c.contact,
      headers: [["Event", "presence"], ["Expires", "3600"]],
    });

  it("is challenged (407) when unauthenticated, refused (403) for another user, and moves nothing; bob keeps his NOTIFYs", async () => {
    const { server: s, port, xcap } = await server();
    const { bob, sub, serverSub } = await bobWatchesAlice(port, xcap, s);
    const own = serverSub.connectionId;

    const attacker = await ua(port, "bob", { password: undefined });
    const r1 = await attacker.sendRequest(inDialog(attacker, sub));
    expect(r1.status).toBe(407);
    expect(r1.getHeader("Proxy-Authenticate")).toMatch(/^Digest /);
    const dave = await ua(port, "dave");
    const r2 = await dave.requestWithAuth(() => inDialog(dave, sub));
    expect(r2.status).toBe(403);
    expect(serverSub.connectionId).toBe(own);

    const alice = await ua(port, "alice");
    await alice.publish(pidf(ALICE, "open", "owned"));
    await bob.waitForNotify((n) => n.bodyText.includes("owned"), { sub });
    expect(attacker.received.filter((r) => r.method === "NOTIFY")).toEqual([]);
    expect(dave.received.filter((r) => r.method === "NOTIFY")).toEqual([]);
    // on its own connection, the dialog's refresh needs no challenge
    const refresh = await bob.sendRequest(inDialog(bob, sub));
    expect(refresh.status).toBe(200);
  });

  it("after a restart, bob re-SUBSCRIBing over a new connection is challenged, then accepted, and his NOTIFYs follow him", async () => {
    const state = new MemoryPresenceStateStore();
    const xcap = new XcapFixture();
    const first = await server({ state }, xcap);
    const { sub, serverSub } = await bobWatchesAlice(first.port, xcap, first.server);
    await first.stop();

    const second = await server({ state }, xcap);
    const bob2 = await ua(second.port, "bob");
    expect((await bob2.sendRequest(inDialog(bob2, sub))).status).toBe(407);
    expect((await bob2.resubscribe(sub, 3600)).status).toBe(200);
    const restored = second.server.notifier.get(serverSub.id)!;
    expect(second.server.transport.getConnection(restored.connectionId!)?.isOwnedBy(BOB)).toBe(true);
    const refreshed = await bob2.waitForNotify(() => true, { sub });
    expect(refreshed.getHeader("Subscription-State")).toMatch(/^active/);
    const alice = await ua(second.port, "alice");
    await alice.publish(pidf(ALICE, "open", "found-again"));
    await bob2.waitForNotify((n) => n.bodyText.includes("found-again"), { sub });
  });
});

describe("digest nonces across a restart (item 5)", () => {
  it("a request captured before a restart, replayed with a forged body after it, is answered 407 stale=true", async () => {
    const first = await server();
    const alice = await ua(first.port, "alice");
    const publish = (c: SipTestClient, note: string) => c.build("PUBLISH", ALICE, { headers: [["Event", "presence"], ["Expires", "600"]], body: pidf(ALICE, "open", note), contentType: "application/pidf+xml", contact: false });
    const challenge = await alice.sendRequest(publish(alice, "one"));
    expect(challenge.status).toBe(407);
    const ch = challenge.getHeaders("Proxy-Authenticate").find((v) => /MD5/.test(v))!;
    const authorization = buildDigestAuthorization({ challenge: ch, method: "PUBLISH", uri: ALICE, username: "alice", password: PASSWORD });
    const ok = publish(alice, "genuine");
    ok.setHeader("Proxy-Authorization", authorization);
    expect((await alice.sendRequest(ok)).status).toBe(200);
    await first.stop();

    const second = await server(); // same ephemeral secret: the nonce is still authentic
    const replayer = await ua(second.port, "alice", { password: undefined });
    const forged = publish(replayer, "forged");
    forged.setHeader("Proxy-Authorization", authorization);
    const r = await replayer.sendRequest(forged);
    expect(r.status).toBe(407);
    expect(r.getHeaders("Proxy-Authenticate").map((v) => parseDigestHeader(v).params.stale)).toContain("true");
    expect(second.server.presence.publicationsOf(ALICE)).toHaveLength(0);
  });
});

describe("back-end dialogs the server created (RLS B2BUA)", () => {
  it("take NOTIFYs only from the peer dialled, not from another connection knowing Call-ID and tags", async () => {
    // the "other domain": answers the SUBSCRIBE 200 and keeps the request for the test
    const subscribes: Array<{ req: SipRequest; sock: net.Socket }> = [];
    const peer = net.createServer((sock) => {
      const p = new SipStreamParser();
      p.on("message", (m) => {
        if (m instanceof SipRequest && m.method === "SUBSCRIBE") {
          subscribes.push({ req: m, sock });
          sock.write(serializeMessage(createResponse(m, 200, { toTag: "remote", headers: [["Expires", "600"], ["Contact", "<sip:127.0.0.1>"]] })));
        }
      });
      sock.on("data", (d) => p.push(d));
      sock.on("error", () => {});
    });
    // another address than the attacker's (loopback has many): the dialog's peer is told apart by it
    await new Promise<void>((r) => peer.listen(0, "127.0.0.2", r));
    cleanup.push(() => new Promise((r) => peer.close(r)));
    const peerPort = (peer.address() as net.AddressInfo).port;
    const { server: s, port } = await server();
    const remote = new RemoteSubscriber(s, { outbound: () => ({ host: "127.0.0.2", port: peerPort, transport: "TCP" }) });
    const states: BackEndState[] = [];
    const handle = remote.subscribe(ALICE, "sip:carol@other.test", (st) => states.push(st));
    cleanup.push(() => handle.close());
    const { req } = await waitFor(() => subscribes[0], { what: "back-end SUBSCRIBE at the peer" });
    const notify = (body: string) =>
      createRequest({
        method: "NOTIFY",
        uri: "sip:127.0.0.1",
        from: "<sip:carol@other.test>;tag=remote",
        to: `<${ALICE}>;tag=${req.from.tag}`,
        callId: req.callId,
        cseq: 1 + states.length,
        via: { transport: "TCP", host: "127.0.0.1", port: 9 },
        headers: [["Event", "presence"], ["Subscription-State", "active;expires=600"]],
        body,
        contentType: "application/pidf+xml",
      });

    const attacker = await ua(port, "mallory", { password: undefined });
    const forged = await attacker.sendRequest(notify(pidf("sip:carol@other.test", "open", "forged")));
    expect(forged.status).toBe(403);
    expect(states.filter((x) => x.body)).toEqual([]);

    subscribes[0].sock.write(serializeMessage(notify(pidf("sip:carol@other.test", "open", "genuine"))));
    await waitFor(() => states.find((x) => x.body?.body.toString().includes("genuine")), { what: "the peer's NOTIFY folded in" });
  });
});
