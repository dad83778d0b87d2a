/**
 * The SIP–XMPP presence gateway against a real Prosody (private configuration, loopback ports,
 * run as the `prosody` user) and a real XMPP client (python3-slixmpp), with Herald's embedded
 * server as `herald start` runs it (startEmbeddedSipServer: SQLite, persisted state, XCAP in the
 * database) and the buddy list's answers written as the portal writes them (AddressBook through
 * the portal's XCAP root, whose change events reach the server).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { loadConfig } from "@/lib/config";
import { startEmbeddedSipServer, type RunningSipServer } from "@/lib/server";
import type { SipRequest } from "@/lib/sip";
import { PrismaXcapStore } from "@/lib/storage/xcap-prisma-store";
import { AddressBook } from "@/lib/xcap/addressbook";
import type { XcapChangeEvent } from "@/lib/xcap/server";
import { XCAP_ROOT, portalXcapHttp, xcapClientOf } from "../server/deployed";
import { allowRules } from "../server/harness";
import { startProsody, type RunningProsody } from "../../helpers/prosody";
import { SipTestClient } from "../../helpers/sip-client";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";
import { waitFor } from "../../helpers/wait";
import { XmppTestClient } from "../../helpers/xmpp-client";

const SIP_DOMAIN = "example.test";
const XMPP_DOMAIN = "xmpp.example";
const SECRET = "component-secret-1";
const PASSWORD = "Correct-Horse-9";

function busyPidf(entity: string, extended: string, note: string, lang = "en"): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:agp-pidf="urn:ag-projects:xml:ns:pidf" entity="${entity}"><tuple id="t1"><status><basic>open</basic><agp-pidf:extended>${extended}</agp-pidf:extended></status><note xml:lang="${lang}">${note}</note><timestamp>${new Date().toISOString()}</timestamp></tuple></presence>`;
}


describe("SIP–XMPP presence gateway (Prosody, slixmpp)", () => {
  let prosody: RunningProsody;
  let tdb: TempDb;
  let dataDir: string;
  const xcapListeners = new Set<(e: XcapChangeEvent) => void>();
  /** alice's or carol's buddy list, as the portal's server actions use it. */
  const buddyList = (user: string) => new AddressBook({ client: xcapClientOf(portalXcapHttp(tdb.db, (e) => xcapListeners.forEach((l) => l(e))), user), xcapRoot: XCAP_ROOT });
  let sip: RunningSipServer;
  const cleanup: Array<() => Promise<unknown> | unknown> = [];

  const startHerald = async () => {
    const cfg = loadConfig(
      {
        SIP_HOST: "127.0.0.1",
        SIP_PORT: "0",
        HERALD_DATA_DIR: dataDir,
        XMPP_COMPONENT_URL: `tcp://127.0.0.1:${prosody.componentPort}`,
        XMPP_COMPONENT_SECRET: SECRET,
        XMPP_COMPONENT_DOMAIN: SIP_DOMAIN,
        XMPP_DOMAINS: XMPP_DOMAIN,
      },
      dataDir,
    );
    const xcap = {
      store: new PrismaXcapStore(tdb.db),
      subscribe: (l: (e: XcapChangeEvent) => void) => {
        xcapListeners.add(l);
        return () => xcapListeners.delete(l);
      },
    };
    const s = await startEmbeddedSipServer(cfg, tdb.db, xcap, { logger: process.env.XMPP_TEST_LOG ? (l, m, meta) => process.stderr.write(`${l} ${m} ${JSON.stringify(meta ?? {})}\n`) : () => {}, notifyIntervalMs: 0, persistDelayMs: 20 });
    await waitFor(() => s.xmpp?.link.online, { timeoutMs: 10_000, what: "the gateway's component connection" });
    return s;
  };
  const sipClient = async (user: string) => {
    const c = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user, domain: SIP_DOMAIN, password: PASSWORD });
    cleanup.push(() => c.close());
    return c;
  };
  const xmppClient = async (user: string) => {
    const c = await XmppTestClient.connect(`${user}@${XMPP_DOMAIN}/test`, `pw-${user}-1`, prosody.c2sPort);
    cleanup.push(() => c.close());
    return c;
  };
  const body = (n: SipRequest) => n.body.toString("utf8");
  /** bob's one XMPP session, shared by the tests (a second session with his resource would take it over). */
  let bob: XmppTestClient;

  beforeAll(async () => {
    prosody = await startProsody({ host: XMPP_DOMAIN, components: { [SIP_DOMAIN]: SECRET }, users: ["bob", "dave", "erin", "gina"].map((u) => ({ user: u, password: `pw-${u}-1` })) });
    tdb = await tempSqliteDb();
    dataDir = mkdtempSync(path.join(tmpdir(), "herald-xmpp-"));
    await addDomain(tdb.db, SIP_DOMAIN);
    for (const u of ["alice", "carol", "frank"]) await addAccount(tdb.db, { address: `${u}@${SIP_DOMAIN}`, password: PASSWORD });
    sip = await startHerald();
  }, 60_000);

  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
    await sip?.stop();
    await prosody?.stop();
    await tdb?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("an XMPP user's request shows in winfo, Allow answers subscribed, and the Herald user's changes reach XMPP in < 1 s", async () => {
    const alice = await sipClient("alice");
    const winfo = await alice.subscribe(`sip:alice@${SIP_DOMAIN}`, { event: "presence.winfo" });
    expect(winfo.response.status).toBe(200);
    bob = await xmppClient("bob");
    bob.presence();
    bob.send("subscribe", `alice@${SIP_DOMAIN}`);
    // the XMPP user is a pending watcher, as a SIP one would be (the buddy list's request)
    await alice.waitForNotify((n) => n.event?.value === "presence.winfo" && /sip:bob@xmpp\.example/.test(body(n)) && /status="pending"/.test(body(n)), { timeoutMs: 5000 });
    expect(bob.presences((e) => e.from.startsWith(`alice@${SIP_DOMAIN}`) && e.type === "subscribed")).toHaveLength(0);
    // Allow on the buddy list's request (acceptWatcher: bob becomes a contact alice may be seen by
    // and watches): the gateway answers `subscribed`, then presence
    const mark = bob.events.length;
    await buddyList("alice").addContact({ uris: [`sip:bob@${XMPP_DOMAIN}`], presence: { policy: "allow", subscribe: true } });
    await bob.waitPresence((e) => e.from === `alice@${SIP_DOMAIN}` && e.type === "subscribed", { from: mark, timeoutMs: 5000 });
    await bob.waitPresence((e) => e.from === `alice@${SIP_DOMAIN}` && (e.type === "available" || e.type === "unavailable"), { from: mark, timeoutMs: 5000 });
    // a change by the Herald user: busy with a note → dnd with the status text, in < 1 s
    const before = bob.events.length;
    const t0 = Date.now();
    expect((await alice.publish(busyPidf(`sip:alice@${SIP_DOMAIN}`, "busy", "In a meeting", "en"))).status).toBe(200);
    const seen = await bob.waitPresence((e) => e.from === `alice@${SIP_DOMAIN}` && e.show === "dnd", { from: before, timeoutMs: 5000 });
    expect(seen.statuses).toEqual([{ text: "In a meeting", lang: "en" }]);
    expect(seen.t - t0).toBeLessThan(1000);
    // away → away
    const before2 = bob.events.length;
    await alice.publish(busyPidf(`sip:alice@${SIP_DOMAIN}`, "away", "Lunch", "en"));
    const away = await bob.waitPresence((e) => e.from === `alice@${SIP_DOMAIN}` && e.show === "away", { from: before2, timeoutMs: 5000 });
    expect(away.statuses[0]?.text).toBe("Lunch");
  }, 30_000);

  it("Block on the buddy list (polite-block, as Blink writes it) and a rules block both answer the XMPP user unsubscribed", async () => {
    const carol = await sipClient("carol");
    expect((await carol.publish(busyPidf(`sip:carol@${SIP_DOMAIN}`, "available", "Here"))).status).toBe(200);
    const dave = await xmppClient("dave");
    dave.presence();
    dave.send("subscribe", `carol@${SIP_DOMAIN}`);
    await waitFor(() => [...sip.server.notifier.all()].some((s) => s.watcher === `sip:dave@${XMPP_DOMAIN}` && s.status === "pending"), { what: "dave's pending request" });
    await buddyList("carol").blockUri(`sip:dave@${XMPP_DOMAIN}`);
    // polite-block: the XMPP answer to a refusal, never an approval or carol's state
    await dave.waitPresence((e) => e.from === `carol@${SIP_DOMAIN}` && e.type === "unsubscribed", { timeoutMs: 5000 });
    expect(dave.presences((e) => e.from === `carol@${SIP_DOMAIN}` && (e.type === "subscribed" || e.type === "available"))).toHaveLength(0);
    await waitFor(() => ![...sip.server.notifier.all()].some((s) => s.watcher === `sip:dave@${XMPP_DOMAIN}` && s.status !== "terminated"), { what: "dave's SIP subscription to end" });
    // a rules document that blocks (operator-written, Kamailio-style identity rules): unsubscribed
    const gina = await xmppClient("gina");
    gina.presence();
    const rules = xcapClientOf(portalXcapHttp(tdb.db, (e) => xcapListeners.forEach((l) => l(e))), "frank");
    await rules.putDocument("org.openmobilealliance.pres-rules", "index", allowRules(`sip:frank@${SIP_DOMAIN}`, [`sip:gina@${XMPP_DOMAIN}`], "block"), { contentType: "application/auth-policy+xml" });
    gina.send("subscribe", `frank@${SIP_DOMAIN}`);
    await gina.waitPresence((e) => e.from === `frank@${SIP_DOMAIN}` && e.type === "unsubscribed", { timeoutMs: 5000 });
  }, 30_000);

  it("a Herald SIP client subscribed to an XMPP user sees its changes in < 1 s, one tuple per resource, show ⇄ extended status", async () => {
    const erin = await xmppClient("erin");
    erin.presence(undefined, "Hello", "en", 5);
    const alice = await sipClient("alice");
    const { response, sub } = await alice.subscribe(`sip:erin@${XMPP_DOMAIN}`);
    expect(response.status).toBe(200);
    // subscribe first; the XMPP user approves; only then the gateway probes (Prosody would refuse an early probe)
    await erin.waitPresence((e) => e.from === `alice@${SIP_DOMAIN}` && e.type === "subscribe", { timeoutMs: 5000 });
    expect(alice.notifies(sub).at(-1)?.subscriptionState?.value).toBe("pending");
    expect(erin.presences((e) => e.from === `alice@${SIP_DOMAIN}` && e.type === "probe")).toHaveLength(0);
    erin.send("subscribed", `alice@${SIP_DOMAIN}`);
    const first = await alice.waitForNotify((n) => n.subscriptionState?.value === "active" && /<basic>open<\/basic>/.test(body(n)), { sub, timeoutMs: 5000 });
    expect(body(first)).toContain("xmpp:erin@xmpp.example/test");
    expect(body(first)).toContain('<note xml:lang="en">Hello</note>');
    expect(body(first)).toContain("<agp-pidf:extended>available</agp-pidf:extended>");
    // a change: xa → extended-away, in < 1 s
    let from = alice.notifies(sub).length;
    let t0 = Date.now();
    erin.presence("xa", "Gone fishing", "en", 5);
    let n = await alice.waitForNotify((x) => /extended-away/.test(body(x)), { sub, from, timeoutMs: 5000 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(body(n)).toContain("Gone fishing");
    // dnd → busy
    from = alice.notifies(sub).length;
    t0 = Date.now();
    erin.presence("dnd", "Busy", "en", 5);
    n = await alice.waitForNotify((x) => /<agp-pidf:extended>busy</.test(body(x)), { sub, from, timeoutMs: 5000 });
    expect(Date.now() - t0).toBeLessThan(1000);
    // unavailable → closed
    from = alice.notifies(sub).length;
    erin.command({ cmd: "unavailable", status: "Bye" });
    n = await alice.waitForNotify((x) => /<basic>closed<\/basic>/.test(body(x)), { sub, from, timeoutMs: 5000 });
    expect(body(n)).toContain("Bye");
    erin.presence(undefined, "Back", "en", 5);
    await alice.waitForNotify((x) => /<basic>open<\/basic>/.test(body(x)) && /Back/.test(body(x)), { sub, from, timeoutMs: 5000 });
  }, 30_000);

  it("Prosody restarted, then Herald restarted: the gateway reconnects and presence flows both ways again", async () => {
    bob.presence(undefined, "here", "en");
    const alice = await sipClient("alice");
    // bob was approved in the first test; alice watches erin (approved in the previous test)
    await prosody.restart();
    await waitFor(() => sip.xmpp?.link.online, { timeoutMs: 15_000, what: "the gateway to reconnect to Prosody" });
    const dropped = bob.events.indexOf(await bob.waitEvent((e) => e.event === "disconnected", { timeoutMs: 15_000 }));
    await bob.waitEvent((e) => e.event === "online", { from: dropped, timeoutMs: 15_000, what: "bob back online" });
    let mark = bob.events.length;
    await alice.publish(busyPidf(`sip:alice@${SIP_DOMAIN}`, "away", "After the Prosody restart"));
    await bob.waitPresence((e) => e.from === `alice@${SIP_DOMAIN}` && e.statuses.some((s) => s.text === "After the Prosody restart"), { from: mark, timeoutMs: 10_000 });
    // Herald restarted on the same database: bob's dialog is recovered over the gateway's new flow
    // (bob stays logged in: nothing on the XMPP side asks again)
    const probes = bob.events.filter((e) => e.event === "online").length;
    await alice.close();
    await sip.stop();
    sip = await startHerald();
    const alice2 = await sipClient("alice");
    mark = bob.events.length;
    await alice2.publish(busyPidf(`sip:alice@${SIP_DOMAIN}`, "busy", "After the Herald restart"));
    await bob.waitPresence((e) => e.from === `alice@${SIP_DOMAIN}` && e.statuses.some((s) => s.text === "After the Herald restart"), { from: mark, timeoutMs: 10_000 });
    expect(bob.events.filter((e) => e.event === "online").length).toBe(probes);
    // and the other way: a Herald user subscribing to bob gets his state (subscription kept by Prosody)
    // (the mark before the SUBSCRIBE: its 200 and the gateway's subscribe stanza race each other)
    const mark2 = bob.events.length;
    const { sub } = await alice2.subscribe(`sip:bob@${XMPP_DOMAIN}`);
    const req = await bob.waitPresence((e) => e.from === `alice@${SIP_DOMAIN}` && e.type === "subscribe", { from: mark2, timeoutMs: 10_000 });
    expect(req).toBeTruthy();
    bob.send("subscribed", `alice@${SIP_DOMAIN}`);
    await alice2.waitForNotify((n) => /<basic>open<\/basic>/.test(body(n)) && /here/.test(body(n)), { sub, timeoutMs: 10_000 });
  }, 60_000);
});
