/**
 * Presence that tells the truth (issue 12, items 1 and 3) over real sockets: publications end
 * with their flow, the user's own choice wins over devices, Invisible is indistinguishable from
 * offline, and watchers see each state once.
 */
import { afterEach, describe, expect, it } from "vitest";
import { HeraldSipClient } from "@/lib/client";
import { composeMyPidf, type MyPresence } from "@/lib/client/my-presence";
import { composePidf, parsePidf, summarizePresence } from "@/lib/presence";
import { PrismaPresenceStateStore } from "@/lib/server";
import { issueEphemeralCredentials, type SipRequest } from "@/lib/sip";
import { JsSipTcpSocket } from "../../helpers/jssip-tcp-socket";
import type { SipTestClient } from "../../helpers/sip-client";
import { tempSqliteDb } from "../../helpers/temp-db";
import { waitFor } from "../../helpers/wait";
import { DOMAIN, SECRET, XcapFixture, allowRules, client, startServer } from "./harness";

const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
const RULES = "org.openmobilealliance.pres-rules";
const OLD_TAB = "0b9c5f0e-1111-4a4a-8a8a-000000000001";
const NEW_TAB = "0b9c5f0e-2222-4a4a-8a8a-000000000002";

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(overrides = {}, xcap = new XcapFixture()) {
  const s = await startServer(overrides, xcap);
  cleanup.push(() => s.server.stop());
  return s;
}
async function ua(port: number, user: string): Promise<SipTestClient> {
  const c = await client(port, user);
  cleanup.push(() => c.close());
  return c;
}

/** REGISTER with an RFC 5626 flow: `+sip.instance` and `reg-id`. */
function registerFlow(c: SipTestClient, instance: string) {
  return c.register(600, [["Supported", "outbound"]], `<sip:${c.o.user}@127.0.0.1:${c.localPort};transport=tcp>;+sip.instance="<urn:uuid:${instance}>";reg-id=1`);
}

/** A tab's publication, as lib/client publishes it. */
function tabBody(status: MyPresence["status"], deviceId: string, at: Date, note?: string): string {
  return composeMyPidf(ALICE, { status, ...(note ? { note } : {}) }, { deviceId, userAgent: "Herald", timeOffset: 0 }, at);
}

/** The offline status document the portal writes (lib/portal/presence-documents.ts). */
function offlineStatus(note: string): string {
  return composePidf({ entity: ALICE, basic: "closed", extended: "offline", note, tupleId: "offline_status_tuple", personId: "offline_status" });
}

const summaryOf = (n: SipRequest) => summarizePresence(parsePidf(n.bodyText));

async function bobWatching(xcap: XcapFixture, port: number) {
  const bob = await ua(port, "bob");
  const { sub } = await bob.subscribe(ALICE);
  await bob.waitForNotify(() => true, { sub });
  return { bob, sub };
}

describe("publications bound to a flow (RFC 5626)", () => {
  it("end when the flow fails and is not recovered within the grace", async () => {
    const xcap = new XcapFixture();
    await xcap.put(ALICE, RULES, allowRules(ALICE, [BOB]));
    const { server, port } = await setup({ flowGraceMs: 300 }, xcap);
    const { bob, sub } = await bobWatching(xcap, port);
    const alice = await ua(port, "alice");
    expect((await registerFlow(alice, OLD_TAB)).status).toBe(200);
    expect((await alice.publish(tabBody("available", OLD_TAB, new Date()), { expires: 600 })).status).toBe(200);
    await bob.waitForNotify((n) => summaryOf(n).availability === "available", { sub });
    const from = bob.notifies(sub).length;
    alice.socket.destroy(); // the device dies without un-publishing
    const gone = await bob.waitForNotify((n) => summaryOf(n).availability === "offline", { sub, from, timeoutMs: 5000 });
    expect(parsePidf(gone.bodyText).tuples.map((t) => t.basic)).toEqual(["closed"]);
    expect(server.presence.publicationsOf(ALICE)).toHaveLength(0);
  });

  it("survive a flow recovered within the grace: the same +sip.instance registers over a new flow", async () => {
    const { server, port } = await setup({ flowGraceMs: 60_000 });
    const first = await ua(port, "alice");
    await registerFlow(first, OLD_TAB);
    await first.publish(tabBody("busy", OLD_TAB, new Date()));
    first.socket.destroy();
    await waitFor(() => server.presence.publicationsOf(ALICE)[0]?.graceUntil !== undefined, { what: "the publication to enter its grace" });
    const second = await ua(port, "alice");
    await registerFlow(second, OLD_TAB);
    const [p] = server.presence.publicationsOf(ALICE);
    expect(p.graceUntil).toBeUndefined();
    expect(p.connectionId).not.toBeUndefined();
  });

  it("end at once when a new registration of the same +sip.instance replaces the flow", async () => {
    const xcap = new XcapFixture();
    await xcap.put(ALICE, RULES, allowRules(ALICE, [BOB]));
    const { server, port } = await setup({ flowGraceMs: 60_000 }, xcap);
    const { bob, sub } = await bobWatching(xcap, port);
    const before = await ua(port, "alice");
    await registerFlow(before, OLD_TAB);
    await before.publish(tabBody("available", OLD_TAB, new Date(), "from the old flow"));
    await bob.waitForNotify((n) => n.bodyText.includes("from the old flow"), { sub });
    const from = bob.notifies(sub).length;
    // the device restarted: same instance, new flow, the old connection not yet seen to fail
    const after = await ua(port, "alice");
    expect((await registerFlow(after, OLD_TAB)).status).toBe(200);
    await bob.waitForNotify((n) => !n.bodyText.includes("from the old flow"), { sub, from });
    expect(server.presence.publicationsOf(ALICE)).toHaveLength(0);
  });

  it("do not come back after a restart unless their device registers again within the grace", async () => {
    const tdb = await tempSqliteDb();
    cleanup.push(() => tdb.close());
    const xcap = new XcapFixture();
    await xcap.put(ALICE, RULES, allowRules(ALICE, [BOB]));
    const first = await startServer({ state: new PrismaPresenceStateStore(tdb.db), flowGraceMs: 300 }, xcap);
    const alice = await ua(first.port, "alice");
    await registerFlow(alice, OLD_TAB);
    await alice.publish(tabBody("available", OLD_TAB, new Date()), { expires: 600 });
    await first.server.flush();
    await first.server.stop();

    const second = await setup({ state: new PrismaPresenceStateStore(tdb.db), flowGraceMs: 300 }, xcap);
    // restored, but only for the grace: the watcher never sees the dead device as available
    expect(second.server.presence.publicationsOf(ALICE)).toHaveLength(1);
    await waitFor(() => second.server.presence.publicationsOf(ALICE).length === 0 && second.server.registrar.bindingsOf(ALICE).length === 0, { what: "the restored flow-bound state to end", timeoutMs: 5000 });
    const bob = await ua(second.port, "bob");
    const { sub } = await bob.subscribe(ALICE);
    const n = await bob.waitForNotify(() => true, { sub });
    expect(summaryOf(n).availability).toBe("offline");
  });

  it("come back after a restart when their device registers again within the grace", async () => {
    const tdb = await tempSqliteDb();
    cleanup.push(() => tdb.close());
    const first = await startServer({ state: new PrismaPresenceStateStore(tdb.db), flowGraceMs: 60_000 });
    const before = await ua(first.port, "alice");
    await registerFlow(before, OLD_TAB);
    await before.publish(tabBody("busy", OLD_TAB, new Date()), { expires: 600 });
    await first.server.flush();
    await first.server.stop();

    const second = await setup({ state: new PrismaPresenceStateStore(tdb.db), flowGraceMs: 60_000 });
    expect(second.server.presence.publicationsOf(ALICE)[0].graceUntil).toBeDefined();
    // the connection numbering starts again in the new process: the device's new flow may carry
    // the id its dead one had, and is still a new flow
    const after = await ua(second.port, "alice");
    expect((await registerFlow(after, OLD_TAB)).status).toBe(200);
    const [p] = second.server.presence.publicationsOf(ALICE);
    expect(p.graceUntil).toBeUndefined();
  });
});

describe("the user's own state wins over devices", () => {
  it("Busy chosen in a new tab beats the Available of a tab that still publishes", async () => {
    const xcap = new XcapFixture();
    await xcap.put(ALICE, RULES, allowRules(ALICE, [BOB]));
    const { port } = await setup({}, xcap);
    const { bob, sub } = await bobWatching(xcap, port);
    const oldTab = await ua(port, "alice");
    await registerFlow(oldTab, OLD_TAB);
    await oldTab.publish(tabBody("available", OLD_TAB, new Date(Date.now() - 60_000)));
    await bob.waitForNotify((n) => summaryOf(n).availability === "available", { sub });
    const newTab = await ua(port, "alice");
    await registerFlow(newTab, NEW_TAB);
    await newTab.publish(tabBody("busy", NEW_TAB, new Date()));
    const n = await bob.waitForNotify((x) => summaryOf(x).devices.some((d) => d.deviceId === NEW_TAB), { sub });
    expect(summaryOf(n).devices).toHaveLength(2);
    expect(summaryOf(n).availability).toBe("busy");
  });

  it("Invisible shows every watcher exactly the offline body, offline note included; the user's own devices still follow", async () => {
    const xcap = new XcapFixture();
    await xcap.put(ALICE, RULES, allowRules(ALICE, [BOB]));
    await xcap.put(ALICE, "pidf-manipulation", offlineStatus("Back on Monday"));
    const { port } = await setup({}, xcap);
    const { bob, sub } = await bobWatching(xcap, port);
    const offline = bob.notifies(sub)[0].bodyText;
    expect(summarizePresence(parsePidf(offline)).note).toBe("Back on Monday");

    const oldTab = await ua(port, "alice");
    await registerFlow(oldTab, OLD_TAB);
    await oldTab.publish(tabBody("available", OLD_TAB, new Date(Date.now() - 60_000)));
    await bob.waitForNotify((n) => summaryOf(n).availability === "available", { sub });
    const newTab = await ua(port, "alice");
    await registerFlow(newTab, NEW_TAB);
    const own = await newTab.subscribe(ALICE);
    const from = bob.notifies(sub).length;
    await newTab.publish(tabBody("invisible", NEW_TAB, new Date()));
    const hidden = await bob.waitForNotify(() => true, { sub, from });
    expect(hidden.bodyText).toBe(offline);
    // the user's other tab sees the Invisible choice and adopts it
    const mine = await newTab.waitForNotify((n) => summaryOf(n).devices.some((d) => d.deviceId === NEW_TAB && d.extendedStatus === "offline"), { sub: own.sub });
    expect(summaryOf(mine).devices).toHaveLength(2);
  });
});

describe("the browser client (JsSIP) against the embedded server", () => {
  /** A tab of the portal: HeraldSipClient over TCP with its own +sip.instance. */
  function tab(port: number, instanceId: string) {
    const socket = new JsSipTcpSocket({ host: "127.0.0.1", port });
    const c = issueEphemeralCredentials({ secret: SECRET, user: "alice", ttlSeconds: 3600 });
    const client = new HeraldSipClient({
      credentials: { wsUrl: `tcp://127.0.0.1:${port}`, aor: ALICE, authorizationUser: c.username, password: c.password },
      socketFactory: () => socket as never,
      instanceId,
      window: null,
      autoAway: false,
      subscribe: { resourceList: false, watcherInfo: false },
    });
    client.start();
    /** The browser process is killed: the connection drops, nothing is un-published, nothing reconnects. */
    const kill = () => {
      const s = socket as unknown as { socket?: { destroy(): void }; connect: () => void; send: () => boolean };
      s.connect = () => {};
      s.send = () => false;
      s.socket?.destroy();
    };
    return { client, kill };
  }

  it("a tab killed hard: the new tab's Busy shows at once, the dead tab's publication ends after the grace", { timeout: 20_000 }, async () => {
    const xcap = new XcapFixture();
    await xcap.put(ALICE, RULES, allowRules(ALICE, [BOB]));
    const { server, port } = await setup({ flowGraceMs: 4000, notifyIntervalMs: 1000 }, xcap);
    const { bob, sub } = await bobWatching(xcap, port);
    const old = tab(port, OLD_TAB);
    await waitFor(() => old.client.store.getSnapshot().myPublication.state === "published", { what: "the old tab to publish" });
    await bob.waitForNotify((n) => summaryOf(n).availability === "available", { sub });
    old.kill();
    const fresh = tab(port, NEW_TAB);
    cleanup.push(() => fresh.client.stop());
    await waitFor(() => fresh.client.store.getSnapshot().myPublication.state === "published", { what: "the new tab to publish" });
    await fresh.client.setPresence({ status: "busy" });
    const busy = await bob.waitForNotify((n) => summaryOf(n).availability === "busy", { sub });
    // the dead tab's Available is still published (its grace runs): the user's choice wins over it
    expect(summaryOf(busy).devices.map((d) => d.deviceId).sort()).toEqual([OLD_TAB, NEW_TAB]);
    await waitFor(() => server.presence.publicationsOf(ALICE).every((p) => p.document.tuples.every((t) => t.deviceId === NEW_TAB)), { what: "the dead tab's publication to end" });
    const last = await bob.waitForNotify((n) => summaryOf(n).devices.length === 1, { sub, from: bob.notifies(sub).indexOf(busy) + 1 });
    expect(summaryOf(last)).toMatchObject({ availability: "busy", devices: [{ deviceId: NEW_TAB }] });
  });
});
