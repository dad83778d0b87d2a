/**
 * HeraldSipClient (JsSIP in Node over a TCP socket) against Herald's embedded presence server
 * (lib/server): register, publish, own-presence NOTIFY, winfo with a real watcher, two tabs of
 * one user following each other, removal on stop. The RLS is not plugged into this server
 * instance, so the RLS subscription is left out here (covered against the scripted peer).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HeraldSipClient, type SipCredentials } from "@/lib/client";
import { parsePidf, summarizePresence } from "@/lib/presence";
import { issueEphemeralCredentials } from "@/lib/sip";
import type { PresenceServer } from "@/lib/server";
import { InstantMessaging, MemoryMessageStore } from "@/lib/server/message";
import { JsSipTcpSocket } from "../../helpers/jssip-tcp-socket";
import { waitFor } from "../../helpers/wait";
import { client as rawClient, DOMAIN, SECRET, startServer, XcapFixture } from "../server/harness";

/** Blink-style pres-rules: own AOR and bob allowed, anybody else must be confirmed (pending). */
const PRES_RULES = `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:ocp="urn:oma:xml:xdm:common-policy">
  <cr:rule id="wp_prs_allow_own"><cr:conditions><cr:identity><cr:one id="sip:alice@${DOMAIN}"/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
  <cr:rule id="wp_prs_grantedcontacts"><cr:conditions><cr:identity><cr:one id="sip:bob@${DOMAIN}"/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions><cr:transformations><pr:provide-services><pr:all-services/></pr:provide-services><pr:provide-persons><pr:all-persons/></pr:provide-persons><pr:provide-devices><pr:all-devices/></pr:provide-devices><pr:provide-all-attributes/></cr:transformations></cr:rule>
  <cr:rule id="wp_prs_unlisted"><cr:conditions><ocp:other-identity/></cr:conditions><cr:actions><pr:sub-handling>confirm</pr:sub-handling></cr:actions></cr:rule>
</cr:ruleset>`;

let server: PresenceServer;
let port: number;
let xcap: XcapFixture;
const clients: HeraldSipClient[] = [];
const closers: (() => Promise<void>)[] = [];

function credentials(user: string): SipCredentials {
  const c = issueEphemeralCredentials({ secret: SECRET, user, ttlSeconds: 3600 });
  return { wsUrl: `tcp://127.0.0.1:${port}`, aor: `sip:${user}@${DOMAIN}`, authorizationUser: c.username, password: c.password };
}

function tab(user: string, instanceId: string): HeraldSipClient {
  const socket = new JsSipTcpSocket({ host: "127.0.0.1", port });
  const c = new HeraldSipClient({
    credentials: credentials(user),
    socketFactory: () => socket as never,
    instanceId,
    window: null,
    autoAway: false,
    subscribe: { resourceList: false },
  });
  clients.push(c);
  c.start();
  return c;
}

beforeEach(async () => {
  xcap = new XcapFixture();
  const started = await startServer({}, xcap);
  server = started.server;
  port = started.port;
  // the portal writes Blink's pres-rules, whose wp_prs_allow_own lets the user watch themselves
  await xcap.put(`sip:alice@${DOMAIN}`, "org.openmobilealliance.pres-rules", PRES_RULES);
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.stop();
  for (const close of closers.splice(0)) await close();
  await server.stop();
});

describe("HeraldSipClient against the embedded presence server", () => {
  it("registers, publishes and sees its own presence through the server", async () => {
    const alice = tab("alice", "11111111-1111-4111-8111-111111111111");
    await waitFor(() => alice.store.getSnapshot().connection === "online", { what: "online" });
    await waitFor(() => alice.store.getSnapshot().myPublication.state === "published", { what: "published" });
    await waitFor(() => alice.store.getSnapshot().self?.availability === "available", { what: "own NOTIFY" });

    await alice.setPresence({ status: "busy", note: "Writing" });
    await waitFor(() => alice.store.getSnapshot().self?.availability === "busy", { what: "busy via server" });
    const self = alice.store.getSnapshot().self;
    expect(self?.note).toBe("Writing");
    expect(self?.devices.find((d) => d.deviceId === "11111111-1111-4111-8111-111111111111")).toBeDefined();
  });

  it("a watcher allowed by pres-rules sees the publication; a pending one shows up in winfo", async () => {
    const alice = tab("alice", "22222222-2222-4222-8222-222222222222");
    await waitFor(() => alice.store.getSnapshot().myPublication.state === "published", { what: "published" });
    await alice.setPresence({ status: "away", note: "Back soon" });

    const bob = await rawClient(port, "bob");
    closers.push(() => bob.close());
    const { sub } = await bob.subscribe(`sip:alice@${DOMAIN}`);
    const n = await bob.waitForNotify((r) => r.bodyText.includes("away"), { sub });
    expect(summarizePresence(parsePidf(n.bodyText))).toMatchObject({ availability: "away", note: "Back soon" });
    await waitFor(() => alice.store.getSnapshot().activeWatchers.some((w) => w.uri === `sip:bob@${DOMAIN}`), { what: "bob active in winfo" });

    const carol = await rawClient(port, "carol");
    closers.push(() => carol.close());
    await carol.subscribe(`sip:alice@${DOMAIN}`);
    await waitFor(() => alice.store.getSnapshot().pendingWatchers.some((w) => w.uri === `sip:carol@${DOMAIN}`), { what: "carol pending in winfo" });
    // the user's own subscriptions (this tab's self subscription) are never "contact requests"
    expect(alice.store.getSnapshot().pendingWatchers.map((w) => w.uri)).toEqual([`sip:carol@${DOMAIN}`]);
    expect(alice.store.getSnapshot().activeWatchers.map((w) => w.uri)).toEqual([`sip:bob@${DOMAIN}`]);
  });

  it("two tabs of one user: away set in one shows in the other", async () => {
    const a = tab("alice", "33333333-3333-4333-8333-333333333333");
    const b = tab("alice", "44444444-4444-4444-8444-444444444444");
    await waitFor(() => a.store.getSnapshot().myPublication.state === "published" && b.store.getSnapshot().myPublication.state === "published", { what: "both published" });
    await waitFor(() => a.store.getSnapshot().self && b.store.getSnapshot().self, { what: "both see themselves" });
    await a.setPresence({ status: "away", note: "coffee" });
    await waitFor(() => b.presence.status === "away", { what: "tab b adopted away", timeoutMs: 10_000 });
    expect(b.presence.note).toBe("coffee");
    await waitFor(() => b.store.getSnapshot().selfStatus === "away" && a.store.getSnapshot().selfStatus === "away", { what: "composed away in both" });
  });

  it("two tabs of one user: a timed status (clear after) carries its end time to the other tab", async () => {
    const a = tab("alice", "77777777-7777-4777-8777-777777777777");
    const b = tab("alice", "88888888-8888-4888-8888-888888888888");
    await waitFor(() => a.store.getSnapshot().myPublication.state === "published" && b.store.getSnapshot().myPublication.state === "published", { what: "both published" });
    await waitFor(() => a.store.getSnapshot().self && b.store.getSnapshot().self, { what: "both see themselves" });
    const until = new Date(Date.now() + 3_600_000).toISOString();
    await a.setPresence({ status: "busy", note: "focus", until });
    await waitFor(() => b.presence.status === "busy" && b.presence.until === until, { what: "tab b adopted busy until", timeoutMs: 10_000 });
    // cleared in one tab (what the page does at that time): the other follows, without an end time
    await a.setPresence({ status: "available", note: "", until: "" });
    await waitFor(() => b.presence.status === "available" && b.presence.until === undefined, { what: "tab b back to available", timeoutMs: 10_000 });
  });

  it("stop() removes this tab's publication", async () => {
    const a = tab("alice", "55555555-5555-4555-8555-555555555555");
    const b = tab("alice", "66666666-6666-4666-8666-666666666666");
    await waitFor(() => b.store.getSnapshot().self?.devices.some((d) => d.deviceId === "55555555-5555-4555-8555-555555555555"), { what: "b sees a's device" });
    await a.stop();
    clients.splice(clients.indexOf(a), 1);
    await waitFor(() => !b.store.getSnapshot().self?.devices.some((d) => d.deviceId === "55555555-5555-4555-8555-555555555555" && d.basic === "open"), {
      what: "a's tuple gone",
    });
  });
});

describe("instant messages between two pages' clients (issue 17)", () => {
  it("sends, delivers (state delivered), shows typing, counts unread, stores for an offline peer (state sent), fails with retry", async () => {
    const im = new InstantMessaging({ server, store: new MemoryMessageStore(), xcap: { store: xcap.store } });
    closers.push(async () => im.stop());
    const alice = tab("alice", "66666666-6666-4666-8666-666666666666");
    const bob = tab("bob", "77777777-7777-4777-8777-777777777777");
    await waitFor(() => alice.store.getSnapshot().registered && bob.store.getSnapshot().registered, { what: "both registered" });
    const BOB = `sip:bob@${DOMAIN}`;
    const ALICE = `sip:alice@${DOMAIN}`;

    alice.messenger.composing(BOB, "active");
    await waitFor(() => bob.messenger.getSnapshot().conversations[ALICE]?.typing, { what: "bob sees alice typing" });
    const sent = await alice.messenger.send(BOB, "hello bob");
    expect(sent.state).toBe("delivered");
    await waitFor(() => bob.messenger.getSnapshot().conversations[ALICE]?.messages.length === 1, { what: "bob receives" });
    const atBob = bob.messenger.getSnapshot().conversations[ALICE];
    expect([atBob.messages[0].text, atBob.messages[0].direction, atBob.typing, atBob.unread]).toEqual(["hello bob", "in", false, 1]);
    expect(bob.messenger.getSnapshot().totalUnread).toBe(1);
    bob.messenger.setReading(ALICE, true);
    expect(bob.messenger.getSnapshot().totalUnread).toBe(0);

    // carol has no device: stored by the server, "sent"
    expect((await alice.messenger.send(`sip:carol@${DOMAIN}`, "later")).state).toBe("sent");
    // a user who does not exist: failed (404), and retry tries again
    const failed = await alice.messenger.send(`sip:nobody@${DOMAIN}`, "anyone?");
    expect([failed.state, failed.failedStatus]).toEqual(["failed", 404]);
    expect((await alice.messenger.retry(`sip:nobody@${DOMAIN}`, failed.id))?.state).toBe("failed");
  });

  it("IMDN and copies between pages: a stored message turns delivered when the peer's page receives it; the sender's other tab shows what the first sent", async () => {
    const im = new InstantMessaging({ server, store: new MemoryMessageStore(), xcap: { store: xcap.store } });
    closers.push(async () => im.stop());
    const ALICE = `sip:alice@${DOMAIN}`;
    const CAROL = `sip:carol@${DOMAIN}`;
    const alice = tab("alice", "88888888-8888-4888-8888-888888888888");
    const alice2 = tab("alice", "99999999-9999-4999-8999-999999999999");
    await waitFor(() => alice.store.getSnapshot().registered && alice2.store.getSnapshot().registered, { what: "alice's two tabs registered" });

    const sent = await alice.messenger.send(CAROL, "see you tomorrow");
    expect(sent.state).toBe("sent"); // carol has no device: stored (202)
    const copy = await waitFor(() => alice2.messenger.getSnapshot().conversations[CAROL]?.messages[0], { what: "copy at alice's other tab" });
    expect([copy.direction, copy.text, copy.state, copy.messageId]).toEqual(["out", "see you tomorrow", "elsewhere", sent.messageId]);
    expect(alice.messenger.getSnapshot().conversations[CAROL].messages).toHaveLength(1); // the sending tab gets no copy

    const carol = tab("carol", "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa");
    await waitFor(() => carol.messenger.getSnapshot().conversations[ALICE]?.messages.length === 1, { what: "stored message at carol's page" });
    expect(carol.messenger.getSnapshot().conversations[ALICE].messages[0]).toMatchObject({ direction: "in", text: "see you tomorrow", messageId: sent.messageId });
    // carol's page notified delivery: both of alice's tabs show it delivered
    await waitFor(() => alice.messenger.getSnapshot().conversations[CAROL].messages[0].state === "delivered", { what: "delivered at the sending tab" });
    await waitFor(() => alice2.messenger.getSnapshot().conversations[CAROL].messages[0].state === "delivered", { what: "delivered at the other tab" });
  });
});
