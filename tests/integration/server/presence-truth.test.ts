/**
 * Presence that tells the truth (issue 12, items 1 and 3) over real sockets, on SQLite and on
 * PostgreSQL with the server as deployed (Prisma XCAP and presence state stores, documents written
 * through the portal's XCAP root): publications end with their flow, the user's own choice wins
 * over devices, Invisible is indistinguishable from offline, and what a watcher sees follows the
 * presentity's rules.
 */
import { describe, expect, it } from "vitest";
import { HeraldSipClient } from "@/lib/client";
import { composeMyPidf, type MyPresence } from "@/lib/client/my-presence";
import { composePidf, parsePidf, summarizePresence } from "@/lib/presence";
import type { InternalNotification, PresenceServerOptions } from "@/lib/server";
import { issueEphemeralCredentials, type SipRequest } from "@/lib/sip";
import { JsSipTcpSocket } from "../../helpers/jssip-tcp-socket";
import { pidf, type SipTestClient } from "../../helpers/sip-client";
import { waitFor } from "../../helpers/wait";
import { DOMAIN, SECRET, databaseBackends, portalXcapHttp, startDeployed, useDeployedDb, xcapClientOf } from "./deployed";
import { allowRules } from "./harness";

const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
const CAROL = `sip:carol@${DOMAIN}`;
const RULES = "org.openmobilealliance.pres-rules";
const OLD_TAB = "0b9c5f0e-1111-4a4a-8a8a-000000000001";
const NEW_TAB = "0b9c5f0e-2222-4a4a-8a8a-000000000002";

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
const basicOf = (body: Buffer | string) => parsePidf(body.toString()).tuples.map((t) => t.basic ?? "");

describe.each(databaseBackends("herald_presence_truth"))("on %s", (_name, open) => {
  const d = useDeployedDb(open);

  /** The server, stopped after the test; NOTIFYs unthrottled and state written 20 ms after a change. */
  const setup = (overrides: Partial<PresenceServerOptions> = {}) => startDeployed(d, { notifyIntervalMs: 0, persistDelayMs: 20, ...overrides });
  /** Alice writes a document through the portal's XCAP root (before any server runs). */
  const alicePuts = (auid: string, content: string) => xcapClientOf(portalXcapHttp(d.db), "alice").putDocument(auid, "index", content);
  const allowBob = () => alicePuts(RULES, allowRules(ALICE, [BOB]));

  async function bobWatching(ua: (user: string) => Promise<SipTestClient>) {
    const bob = await ua("bob");
    const { sub } = await bob.subscribe(ALICE);
    await bob.waitForNotify(() => true, { sub });
    return { bob, sub };
  }

  describe("publications bound to a flow (RFC 5626)", () => {
    /** Alice's tab registers a flow and publishes `status`; the server stops and a new one starts on the same database. */
    async function restartAfterPublishing(status: MyPresence["status"], flowGraceMs: number) {
      const first = await setup({ flowGraceMs });
      const tab = await first.ua("alice");
      await registerFlow(tab, OLD_TAB);
      await tab.publish(tabBody(status, OLD_TAB, new Date()), { expires: 600 });
      await first.server.flush();
      await first.stop();
      return setup({ flowGraceMs });
    }

    it("end when the flow fails and is not recovered within the grace", async () => {
      await allowBob();
      const { server, ua } = await setup({ flowGraceMs: 300 });
      const { bob, sub } = await bobWatching(ua);
      const alice = await ua("alice");
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
      const { server, ua } = await setup({ flowGraceMs: 60_000 });
      const first = await ua("alice");
      await registerFlow(first, OLD_TAB);
      await first.publish(tabBody("busy", OLD_TAB, new Date()));
      first.socket.destroy();
      await waitFor(() => server.presence.publicationsOf(ALICE)[0]?.graceUntil !== undefined, { what: "the publication to enter its grace" });
      const second = await ua("alice");
      await registerFlow(second, OLD_TAB);
      const [p] = server.presence.publicationsOf(ALICE);
      expect(p.graceUntil).toBeUndefined();
      expect(p.connectionId).not.toBeUndefined();
    });

    it("end at once when a new registration of the same +sip.instance replaces the flow", async () => {
      await allowBob();
      const { server, ua } = await setup({ flowGraceMs: 60_000 });
      const { bob, sub } = await bobWatching(ua);
      const before = await ua("alice");
      await registerFlow(before, OLD_TAB);
      await before.publish(tabBody("available", OLD_TAB, new Date(), "from the old flow"));
      await bob.waitForNotify((n) => n.bodyText.includes("from the old flow"), { sub });
      const from = bob.notifies(sub).length;
      // the device restarted: same instance, new flow, the old connection not yet seen to fail
      const after = await ua("alice");
      expect((await registerFlow(after, OLD_TAB)).status).toBe(200);
      await bob.waitForNotify((n) => !n.bodyText.includes("from the old flow"), { sub, from });
      expect(server.presence.publicationsOf(ALICE)).toHaveLength(0);
    });

    it("do not come back after a restart unless their device registers again within the grace", async () => {
      await allowBob();
      const second = await restartAfterPublishing("available", 300);
      // restored, but only for the grace: the watcher never sees the dead device as available
      expect(second.server.presence.publicationsOf(ALICE)).toHaveLength(1);
      await waitFor(() => second.server.presence.publicationsOf(ALICE).length === 0 && second.server.registrar.bindingsOf(ALICE).length === 0, { what: "the restored flow-bound state to end", timeoutMs: 5000 });
      const bob = await second.ua("bob");
      const { sub } = await bob.subscribe(ALICE);
      const n = await bob.waitForNotify(() => true, { sub });
      expect(summaryOf(n).availability).toBe("offline");
    });

    it("come back after a restart when their device registers again within the grace", async () => {
      const second = await restartAfterPublishing("busy", 60_000);
      expect(second.server.presence.publicationsOf(ALICE)[0].graceUntil).toBeDefined();
      // the connection numbering starts again in the new process: the device's new flow may carry
      // the id its dead one had, and is still a new flow
      const after = await second.ua("alice");
      expect((await registerFlow(after, OLD_TAB)).status).toBe(200);
      const [p] = second.server.presence.publicationsOf(ALICE);
      expect(p.graceUntil).toBeUndefined();
    });
  });

  describe("the user's own state wins over devices", () => {
    /** Alice's old tab published Available a minute ago and bob saw it; her new tab registers its flow. */
    async function availableThenNewTab(ua: (user: string) => Promise<SipTestClient>, { bob, sub }: Awaited<ReturnType<typeof bobWatching>>) {
      const oldTab = await ua("alice");
      await registerFlow(oldTab, OLD_TAB);
      await oldTab.publish(tabBody("available", OLD_TAB, new Date(Date.now() - 60_000)));
      await bob.waitForNotify((n) => summaryOf(n).availability === "available", { sub });
      const newTab = await ua("alice");
      await registerFlow(newTab, NEW_TAB);
      return newTab;
    }

    it("Busy chosen in a new tab beats the Available of a tab that still publishes", async () => {
      await allowBob();
      const { ua } = await setup();
      const { bob, sub } = await bobWatching(ua);
      const newTab = await availableThenNewTab(ua, { bob, sub });
      await newTab.publish(tabBody("busy", NEW_TAB, new Date()));
      const n = await bob.waitForNotify((x) => summaryOf(x).devices.some((d) => d.deviceId === NEW_TAB), { sub });
      expect(summaryOf(n).devices).toHaveLength(2);
      expect(summaryOf(n).availability).toBe("busy");
    });

    it("Invisible shows every watcher exactly the offline body, offline note included; the user's own devices still follow", async () => {
      await allowBob();
      await alicePuts("pidf-manipulation", offlineStatus("Back on Monday"));
      const { ua } = await setup();
      const { bob, sub } = await bobWatching(ua);
      const offline = bob.notifies(sub)[0].bodyText;
      expect(summarizePresence(parsePidf(offline)).note).toBe("Back on Monday");

      const newTab = await availableThenNewTab(ua, { bob, sub });
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
      await allowBob();
      const { server, port, ua } = await setup({ flowGraceMs: 4000, notifyIntervalMs: 1000 });
      const { bob, sub } = await bobWatching(ua);
      const old = tab(port, OLD_TAB);
      await waitFor(() => old.client.store.getSnapshot().myPublication.state === "published", { what: "the old tab to publish" });
      await bob.waitForNotify((n) => summaryOf(n).availability === "available", { sub });
      old.kill();
      const fresh = tab(port, NEW_TAB);
      d.defer(() => fresh.client.stop());
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

  describe("what a watcher sees follows the presentity's rules", () => {
    it("puts confirm watchers in pending and activates them when the rules change, without re-SUBSCRIBE", async () => {
      const { ua, xcapOf } = await setup();
      const xcap = xcapOf("alice");
      const alice = await ua("alice");
      const bob = await ua("bob");
      await alice.publish(pidf(ALICE, "open", "hello bob"));
      const { sub } = await bob.subscribe(ALICE);
      const pending = await bob.waitForNotify(() => true, { sub });
      expect(pending.getHeader("Subscription-State")).toMatch(/^pending;expires=/);
      expect(pending.body.length).toBe(0);
      await xcap.putDocument(RULES, "index", allowRules(ALICE, [BOB]));
      const active = await bob.waitForNotify((n) => n.getHeader("Subscription-State")!.startsWith("active"), { sub });
      expect(active.bodyText).toContain("hello bob");
      expect(active.cseq.seq).toBe(pending.cseq.seq + 1);
      // and blocking later terminates it
      await xcap.putDocument(RULES, "index", allowRules(ALICE, [BOB], "block"));
      const term = await bob.waitForNotify((n) => n.getHeader("Subscription-State")!.startsWith("terminated"), { sub });
      expect(term.getHeader("Subscription-State")).toBe("terminated;reason=rejected");
    });

    it("resolves Blink's external lists with percent-encoded URIs", async () => {
      const anchor = (name: string) => `http://xcap.example.test/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22${name}%22%5D`;
      await alicePuts(
        RULES,
        `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:ocp="urn:oma:xml:xdm:common-policy">
  <cr:rule id="wp_prs_grantedcontacts"><cr:conditions><ocp:external-list><ocp:entry anc="${anchor("oma_grantedcontacts")}"/></ocp:external-list></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
  <cr:rule id="wp_prs_blockedcontacts"><cr:conditions><ocp:external-list><ocp:entry anc="${anchor("oma_blockedcontacts")}"/></ocp:external-list></cr:conditions><cr:actions><pr:sub-handling>polite-block</pr:sub-handling></cr:actions></cr:rule>
  <cr:rule id="wp_prs_unlisted"><cr:conditions><ocp:other-identity/></cr:conditions><cr:actions><pr:sub-handling>confirm</pr:sub-handling></cr:actions></cr:rule>
</cr:ruleset>`,
      );
      await alicePuts(
        "resource-lists",
        `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list name="oma_grantedcontacts"><entry uri="sip%3Abob%40example.test"/></list>
  <list name="oma_blockedcontacts"><entry uri="sip%3Acarol%40example.test"/></list>
</resource-lists>`,
      );
      const { ua, xcapOf } = await setup();
      const alice = await ua("alice");
      await alice.publish(pidf(ALICE, "open", "secret note"));
      const bob = await ua("bob");
      const carol = await ua("carol");
      const b = await bob.subscribe(ALICE);
      const c = await carol.subscribe(ALICE);
      const nb = await bob.waitForNotify(() => true, { sub: b.sub });
      expect(nb.getHeader("Subscription-State")).toMatch(/^active/);
      expect(nb.bodyText).toContain("secret note");
      // polite-block: active, neutral closed document, nothing revealed
      const nc = await carol.waitForNotify(() => true, { sub: c.sub });
      expect(nc.getHeader("Subscription-State")).toMatch(/^active/);
      expect(basicOf(nc.body)).toEqual(["closed"]);
      expect(nc.bodyText).not.toContain("secret note");
      // a change reaches bob but sends nothing to the polite-blocked carol
      await alice.publish(pidf(ALICE, "open", "second note"));
      await bob.waitForNotify((n) => n.bodyText.includes("second note"), { sub: b.sub });
      expect(carol.notifies(c.sub)).toHaveLength(1);
      // moving bob from granted to blocked by editing the list re-evaluates him
      await xcapOf("alice").putDocument(
        "resource-lists",
        "index",
        `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list name="oma_grantedcontacts"/>
  <list name="oma_blockedcontacts"><entry uri="sip%3Abob%40example.test"/><entry uri="sip%3Acarol%40example.test"/></list>
</resource-lists>`,
      );
      const neutral = await bob.waitForNotify((n) => !n.bodyText.includes("note"), { sub: b.sub });
      expect(basicOf(neutral.body)).toEqual(["closed"]);
    });

    it("answers 403 to a blocked watcher", async () => {
      await alicePuts("pres-rules", allowRules(ALICE, [CAROL], "block"));
      const { ua } = await setup();
      const carol = await ua("carol");
      const { response } = await carol.subscribe(ALICE);
      expect(response.status).toBe(403);
    });

    it("internal subscriptions (RLS back ends) go through the same authorization, bodies and watcher info as SIP watchers, through block and unblock", async () => {
      const s = await setup();
      const xcap = s.xcapOf("alice");
      const alice = await s.ua("alice");
      await alice.publish(pidf(ALICE, "open", "internal"));
      const seen: InternalNotification[] = [];
      const isub = await s.server.subscribeInternal(BOB, ALICE, (n) => seen.push(n));
      expect(isub.current.status).toBe("pending");
      expect(isub.current.body).toBeUndefined();
      expect(s.server.winfo.recordsOf(ALICE).map((r) => [r.uri, r.status])).toEqual([[BOB, "pending"]]);
      await xcap.putDocument(RULES, "index", allowRules(ALICE, [BOB]));
      await waitFor(() => isub.current.status === "active", { what: "activation" });
      expect(isub.current.body?.body.toString()).toContain("internal");
      await alice.publish(pidf(ALICE, "closed", "gone"));
      await waitFor(() => isub.current.body?.body.toString().includes("gone"), { what: "update" });
      // blocked: listener sees terminated/rejected but stays registered; allowed again → active
      await xcap.putDocument(RULES, "index", allowRules(ALICE, [BOB], "block"));
      await waitFor(() => isub.current.status === "terminated", { what: "block" });
      expect(isub.current.reason).toBe("rejected");
      // unblocked to "confirm" (Blink's unblock: back to the unlisted rule): pending again, and
      // the presentity's watcher info lists the request again
      await xcap.putDocument(RULES, "index", allowRules(ALICE, [BOB], "confirm"));
      await waitFor(() => isub.current.status === "pending", { what: "pending after unblock" });
      await waitFor(() => s.server.winfo.recordsOf(ALICE).some((r) => r.uri === BOB && r.status === "pending"), { what: "winfo pending after unblock" });
      await xcap.putDocument(RULES, "index", allowRules(ALICE, [BOB]));
      await waitFor(() => isub.current.status === "active", { what: "re-allowed" });
      isub.close();
      expect(s.server.notifier.size).toBe(0);
      expect(seen.length).toBeGreaterThanOrEqual(4);
    });
  });
});
