/**
 * HeraldSipClient (JsSIP in Node over tests/helpers/jssip-tcp-socket.ts) against a scripted SIP
 * presence peer on a real TCP socket: register with +sip.instance, PUBLISH with digest and ETags,
 * the RLS/winfo/self subscriptions, version-gap resync, connection loss and recovery, removal.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HeraldSipClient, SESSION_ENDED_CLOSE_CODE, type SipCredentials } from "@/lib/client";
import { composePidf, parsePidf, summarizePresence } from "@/lib/presence";
import { issueEphemeralCredentials } from "@/lib/sip";
import { composeXcapDiff, XCAP_DIFF_TYPE } from "@/lib/xcap/diff";
import { JsSipTcpSocket } from "../../helpers/jssip-tcp-socket";
import { waitFor } from "../../helpers/wait";
import { rlsNotify, winfo } from "../../unit/client/fixtures";
import { ScriptedPresenceServer } from "./scripted-presence-server";

const SECRET = "autheph-shared-secret";
const INSTANCE = "6f1c1a52-3b7e-4c2a-9f0e-5d1b2c3d4e5f";

let server: ScriptedPresenceServer;
let client: HeraldSipClient | undefined;
let socket: JsSipTcpSocket;

function credentials(): SipCredentials {
  const c = issueEphemeralCredentials({ secret: SECRET, user: "alice", ttlSeconds: 3600 });
  return { wsUrl: `tcp://127.0.0.1:${server.port}`, aor: "sip:alice@example.test", authorizationUser: c.username, password: c.password, displayName: "Alice" };
}

function startClient(extra: Partial<ConstructorParameters<typeof HeraldSipClient>[0]> = {}): HeraldSipClient {
  socket = new JsSipTcpSocket({ host: "127.0.0.1", port: server.port });
  client = new HeraldSipClient({
    credentials: credentials(),
    socketFactory: () => socket as never,
    instanceId: INSTANCE,
    window: null,
    reconnect: { minSeconds: 1, maxSeconds: 1 },
    autoAway: false,
    ...extra,
  });
  client.start();
  return client;
}

beforeEach(async () => {
  server = new ScriptedPresenceServer(SECRET);
  server.initialNotify = (sub) => {
    if (sub.event === "presence" && sub.target.includes("+presence")) {
      return rlsNotify(0, true, [
        { uri: "sip:bob@example.test", name: "Bob", status: "away", note: "lunch" },
        { uri: "sip:carol@example.test", name: "Carol", state: "pending" },
      ]);
    }
    if (sub.event === "presence.winfo") {
      return { contentType: "application/watcherinfo+xml", body: winfo(0, "full", [{ id: "w1", uri: "sip:bob@example.test", status: "pending" }]) };
    }
    if (sub.event === "presence") {
      const latest = [...server.publications.values()].at(-1);
      return latest ? { contentType: "application/pidf+xml", body: latest.body } : undefined;
    }
    return undefined;
  };
  await server.listen();
});

afterEach(async () => {
  await client?.stop();
  client = undefined;
  await server.close();
});

describe("HeraldSipClient over JsSIP (scripted TCP peer)", () => {
  it("registers as one device, publishes with digest, and fills the store from RLS, winfo and own presence", async () => {
    const c = startClient();
    expect(c.store.getSnapshot().connection).toBe("connecting");
    await waitFor(() => c.store.getSnapshot().connection === "online", { what: "online" });

    const register = server.authorized("REGISTER")[0];
    expect(register.getHeader("Contact")).toContain(`+sip.instance="<urn:uuid:${INSTANCE}>"`);

    // PUBLISH: challenged once, then sent with credentials, Event/Content-Type/Expires and the PIDF
    await waitFor(() => c.store.getSnapshot().myPublication.state === "published", { what: "published" });
    const publishes = server.requestsOf("PUBLISH");
    expect(publishes[0].hasHeader("Authorization")).toBe(false);
    const publish = server.authorized("PUBLISH")[0];
    expect(publish.event?.value).toBe("presence");
    expect(publish.getHeader("Content-Type")).toBe("application/pidf+xml");
    expect(publish.expires).toBe(300); // a short Expires, refreshed: a dead tab is gone within minutes even without flow tracking
    expect(publish.hasHeader("SIP-If-Match")).toBe(false);
    const mine = summarizePresence(parsePidf(publish.bodyText));
    expect(mine).toMatchObject({ entity: "sip:alice@example.test", availability: "available" });
    expect(mine.devices[0]).toMatchObject({ deviceId: INSTANCE, userAgent: "Herald" });
    expect(c.store.getSnapshot().myPublication.etag).toBe("srv-etag-1");

    // RLS subscription: the list URI, Supported: eventlist, the Accept list
    const rlsSub = server.authorized("SUBSCRIBE").find((r) => r.uri.toString() === "sip:alice+presence@example.test");
    expect(rlsSub?.getHeader("Supported")).toBe("eventlist");
    expect(rlsSub?.accept).toEqual(["multipart/related", "application/rlmi+xml", "application/pidf+xml"]);
    await waitFor(() => c.store.getSnapshot().contactsLive, { what: "contacts" });
    const snap = c.store.getSnapshot();
    expect(snap.contacts.get("sip:bob@example.test")).toMatchObject({ name: "Bob", availability: "away", state: "active" });
    expect(snap.contacts.get("sip:bob@example.test")?.summary?.note).toBe("lunch");
    expect(snap.contacts.get("sip:carol@example.test")).toMatchObject({ state: "pending" });

    // winfo: a pending watcher is a contact request
    await waitFor(() => c.store.getSnapshot().pendingWatchers.length === 1, { what: "winfo" });
    const winfoSub = server.authorized("SUBSCRIBE").find((r) => r.event?.value === "presence.winfo");
    expect(winfoSub?.accept).toEqual(["application/watcherinfo+xml"]);
    expect(c.store.getSnapshot().pendingWatchers[0].uri).toBe("sip:bob@example.test");
  });

  it("publishes and subscribes with the REGISTER, not one round trip after it; online once registered", async () => {
    let admitRegister!: () => void;
    server.registerGate = new Promise<void>((r) => (admitRegister = r));
    const c = startClient();
    // the list, winfo, own-presence and xcap-diff subscriptions and the PUBLISH pass
    // authentication while the REGISTER is still unanswered
    await waitFor(() => server.authorized("SUBSCRIBE").length === 4 && server.authorized("PUBLISH").length === 1, { what: "requests before registration" });
    await waitFor(() => c.store.getSnapshot().contactsLive, { what: "contacts before registration" });
    expect(c.store.getSnapshot().registered).toBe(false);
    expect(c.store.getSnapshot().connection).toBe("connecting");
    admitRegister();
    await waitFor(() => c.store.getSnapshot().connection === "online", { what: "online after the REGISTER's 200" });
    expect(c.store.getSnapshot().registered).toBe(true);
    // one session: nothing was sent twice because of the registration
    expect(server.authorized("SUBSCRIBE")).toHaveLength(4);
    expect(server.authorized("PUBLISH")).toHaveLength(1);
  });

  it("setStatus/setNote modify the publication with SIP-If-Match; the own-presence NOTIFY shows it", async () => {
    const c = startClient();
    await waitFor(() => c.store.getSnapshot().myPublication.state === "published" && server.liveSubscriptions("presence", "sip:alice@").length === 1, { what: "ready" });
    await c.setPresence({ status: "busy", note: "Deadline" });
    const modify = server.authorized("PUBLISH").at(-1);
    expect(modify?.getHeader("SIP-If-Match")).toBe("srv-etag-1");
    expect(summarizePresence(parsePidf(modify?.bodyText ?? ""))).toMatchObject({ availability: "busy", note: "Deadline" });
    expect(c.store.getSnapshot()).toMatchObject({ myPresence: { status: "busy", note: "Deadline" }, myPublication: { state: "published", etag: "srv-etag-2" } });

    const selfSub = server.liveSubscriptions("presence", "sip:alice@")[0];
    server.notify(selfSub, { contentType: "application/pidf+xml", body: modify?.bodyText ?? "" });
    await waitFor(() => c.store.getSnapshot().selfStatus === "busy", { what: "self busy" });
  });

  it("412 on modify falls back to an initial PUBLISH; 423 is retried with Min-Expires", async () => {
    const c = startClient({ publishExpires: 30 });
    let first = true;
    server.publishHook = (req) => {
      if (req.expires === 30 && first) {
        first = false;
        return { status: 423, headers: [["Min-Expires", "120"]] };
      }
      return undefined;
    };
    await waitFor(() => c.store.getSnapshot().myPublication.state === "published", { what: "published" });
    expect(server.authorized("PUBLISH").map((r) => r.expires)).toEqual([30, 120]);
    server.publications.clear(); // the server forgot the publication
    await c.setStatus("away");
    const last = server.authorized("PUBLISH").slice(-2);
    expect(last[0].getHeader("SIP-If-Match")).toBeDefined();
    expect(last[1].hasHeader("SIP-If-Match")).toBe(false);
    expect(summarizePresence(parsePidf(last[1].bodyText)).availability).toBe("away");
    expect(c.store.getSnapshot().myPublication.state).toBe("published");
  });

  it("a partial RLMI NOTIFY with a version gap makes the client re-SUBSCRIBE for full state", async () => {
    const c = startClient();
    await waitFor(() => c.store.getSnapshot().contactsLive, { what: "contacts" });
    const rls = server.liveSubscriptions("presence", "sip:alice+presence@")[0];
    server.notify(rls, rlsNotify(1, false, [{ uri: "sip:bob@example.test", status: "busy" }]));
    await waitFor(() => c.store.getSnapshot().contacts.get("sip:bob@example.test")?.availability === "busy", { what: "partial applied" });
    let resyncs = 0;
    c.on("resync", () => resyncs++);
    server.initialNotify = (sub) =>
      sub.target.includes("+presence") ? rlsNotify(0, true, [{ uri: "sip:bob@example.test", name: "Bob", status: "extended-away" }]) : undefined;
    server.notify(rls, rlsNotify(3, false, [{ uri: "sip:carol@example.test", status: "busy" }]));
    await waitFor(() => server.liveSubscriptions("presence", "sip:alice+presence@").some((s) => s.callId !== rls.callId), { what: "new SUBSCRIBE" });
    await waitFor(() => c.store.getSnapshot().contacts.get("sip:bob@example.test")?.availability === "extended-away", { what: "fresh full state" });
    expect(resyncs).toBe(1);
    expect(c.store.getSnapshot().contacts.has("sip:carol@example.test")).toBe(false);
  });

  it("connection loss: everything stale at once, then reconnect, re-register, re-publish, re-subscribe and live state", async () => {
    const c = startClient();
    const events: string[] = [];
    c.on("reconnecting", () => events.push("reconnecting"));
    c.on("registered", () => events.push("registered"));
    await waitFor(() => c.store.getSnapshot().contactsLive && c.store.getSnapshot().myPublication.state === "published", { what: "online" });
    const registersBefore = server.authorized("REGISTER").length;
    const subscribesBefore = server.authorized("SUBSCRIBE").length;

    server.initialNotify = (sub) => {
      if (sub.target.includes("+presence")) return rlsNotify(0, true, [{ uri: "sip:bob@example.test", name: "Bob", status: "busy" }]);
      return undefined;
    };
    server.dropConnections();
    await waitFor(() => c.store.getSnapshot().connection === "reconnecting", { what: "reconnecting" });
    const stale = c.store.getSnapshot();
    expect(stale.contactsLive).toBe(false);
    expect(stale.self).toBeUndefined();
    for (const contact of stale.contacts.values()) expect(contact).toMatchObject({ stale: true, availability: "unknown" });

    await waitFor(() => c.store.getSnapshot().connection === "online", { what: "online again", timeoutMs: 15_000 });
    await waitFor(() => c.store.getSnapshot().contacts.get("sip:bob@example.test")?.availability === "busy", { what: "fresh state" });
    expect(socket.connections).toBe(2);
    expect(server.authorized("REGISTER").length).toBeGreaterThan(registersBefore);
    // RLS, winfo and own presence, each a new dialog on the new connection
    await waitFor(() => server.authorized("SUBSCRIBE").length >= subscribesBefore + 3, { what: "re-subscribed" });
    expect(server.liveSubscriptions("presence.winfo").length).toBe(1);
    // re-publish: a modify with the ETag held from before the loss
    await waitFor(() => server.authorized("PUBLISH").at(-1)?.getHeader("SIP-If-Match") === "srv-etag-1", { what: "re-publish" });
    expect(events).toEqual(["registered", "reconnecting", "registered"]);
  });

  it("a close with SESSION_ENDED_CLOSE_CODE (account disabled, deleted, new password) stops the client for good and says why", async () => {
    const c = startClient();
    const events: string[] = [];
    c.on("reconnecting", () => events.push("reconnecting"));
    c.on("sessionEnded", ({ reason }) => events.push(`ended:${reason}`));
    const stopped = new Promise<void>((r) => c.on("stopped", () => r()));
    await waitFor(() => c.store.getSnapshot().connection === "online", { what: "online" });
    // the bridge's close as JsSIP's WebSocket interface reports it
    const report = socket.ondisconnect;
    socket.ondisconnect = (error) => report.call(socket, error, SESSION_ENDED_CLOSE_CODE, "disabled");
    server.dropConnections();
    await stopped;
    expect(events).toEqual(["ended:disabled"]);
    expect(c.store.getSnapshot().connection).toBe("offline");
    expect(socket.connections).toBe(1);
  });

  it("adopts a newer status published by another device of the same user", async () => {
    const c = startClient();
    await waitFor(() => c.store.getSnapshot().myPublication.state === "published" && server.liveSubscriptions("presence", "sip:alice@").length === 1, { what: "ready" });
    const selfSub = server.liveSubscriptions("presence", "sip:alice@")[0];
    const other = composePidf({ entity: "sip:alice@example.test", extended: "away", note: "from my phone", deviceId: "other-tab", timestamp: new Date(Date.now() + 1000) });
    server.notify(selfSub, { contentType: "application/pidf+xml", body: other });
    await waitFor(() => c.presence.status === "away", { what: "adopted" });
    expect(c.presence.note).toBe("from my phone");
    await waitFor(() => summarizePresence(parsePidf(server.authorized("PUBLISH").at(-1)?.bodyText ?? "")).availability === "away", { what: "republished" });
    // an older foreign tuple is not adopted
    const older = composePidf({ entity: "sip:alice@example.test", extended: "busy", deviceId: "other-tab", timestamp: new Date(Date.now() - 60_000) });
    server.notify(selfSub, { contentType: "application/pidf+xml", body: older });
    await waitFor(() => c.store.getSnapshot().self?.devices.some((d) => d.extendedStatus === "busy"), { what: "older notify seen" });
    expect(c.presence.status).toBe("away");
  });

  it("stop() removes the publication (Expires: 0 with SIP-If-Match) and goes offline", async () => {
    const c = startClient();
    await waitFor(() => c.store.getSnapshot().myPublication.state === "published", { what: "published" });
    await c.stop();
    const removal = server.authorized("PUBLISH").at(-1);
    expect(removal?.expires).toBe(0);
    expect(removal?.getHeader("SIP-If-Match")).toBe("srv-etag-1");
    expect(removal?.body.length).toBe(0);
    expect(c.store.getSnapshot()).toMatchObject({ connection: "offline", myPublication: { state: "removed" } });
    client = undefined;
  });

  it("renews expired credentials through refreshCredentials when the server rejects them", async () => {
    const expired = { ...credentials(), authorizationUser: "1000000000:alice", password: "bogus" };
    socket = new JsSipTcpSocket({ host: "127.0.0.1", port: server.port });
    let asked = 0;
    client = new HeraldSipClient({
      credentials: expired,
      socketFactory: () => socket as never,
      refreshCredentials: async () => {
        asked++;
        return credentials();
      },
      instanceId: INSTANCE,
      window: null,
      autoAway: false,
    });
    client.start();
    await waitFor(() => client?.store.getSnapshot().connection === "online", { what: "online with renewed credentials" });
    expect(asked).toBeGreaterThanOrEqual(1);
  });
});

describe("HeraldSipClient follows the user's documents (xcap-diff, RFC 5875)", () => {
  it("subscribes to xcap-diff on the own AOR and reports the changed application usages", async () => {
    const c = startClient();
    const seen: Array<{ auids: readonly string[]; initial: boolean }> = [];
    c.store.onDocumentsChanged((auids, initial) => seen.push({ auids, initial }));
    const sub = await waitFor(() => server.liveSubscriptions("xcap-diff", "sip:alice@")[0], { what: "xcap-diff subscription" });
    const request = server.authorized("SUBSCRIBE").find((r) => r.event?.value === "xcap-diff");
    expect(request?.getHeader("Accept")).toBe(XCAP_DIFF_TYPE);
    const rl = "resource-lists/users/sip:alice@example.test/index";
    server.notify(sub, { contentType: XCAP_DIFF_TYPE, body: composeXcapDiff("http://x/xcap-root", [{ sel: rl, newEtag: "1" }]) });
    await waitFor(() => seen.length === 1, { what: "full state" });
    server.notify(sub, { contentType: XCAP_DIFF_TYPE, body: composeXcapDiff("http://x/xcap-root", [{ sel: "pidf-manipulation/users/sip:alice@example.test/index", newEtag: "p" }]) });
    await waitFor(() => seen.length === 2, { what: "a change" });
    expect(seen).toEqual([
      { auids: ["resource-lists"], initial: true },
      { auids: ["pidf-manipulation"], initial: false },
    ]);
  });
});
