/**
 * Issue 11 item 1, end to end: `herald start` as a child process with a registered TCP watcher
 * (bob), a watcher behind the WebSocket bridge (carol, SIP over a `ws` client with a portal session
 * cookie, on an in-process flow) and an attacker (mallory: a TCP connection that offers bob's
 * contact as its RFC 5923 alias, and a WebSocket of her own). Herald is killed (SIGKILL, then in a
 * second run SIGTERM) and started again on the same data; the attacker connects first, so she gets
 * the first connection ids and flow ports of the new run. Neither she nor any other user may
 * receive a watcher's NOTIFY; each watcher gets its NOTIFYs in-dialog (bob: his Contact is dialled
 * again) or is told to re-subscribe (carol: her flow is gone; 481) and then sees the state.
 * A third watcher is a real browser (dave: Chromium on the portal, alice added from the buddy list):
 * his page shows "Reconnecting…" while Herald is down, reconnects by itself (JsSIP) to the new run on
 * the same portal port, and shows alice's new state; mallory gets nothing of his dialogs.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import WebSocket from "ws";
import { addAccount, addDomain } from "../../lib/accounts/service";
import { openDb, type Db } from "../../lib/db";
import { PrismaXcapStore } from "../../lib/storage/xcap-prisma-store";
import { generateTag, type SipRequest } from "../../lib/sip";
import { startHerald, type HeraldProcess } from "../helpers/herald-process";
import { SipTestClient, pidf, type ClientSubscription } from "../helpers/sip-client";
import { bridgeSessionCookie, connectBridged, openBridgeSocket } from "../helpers/bridge-client";
import { waitFor } from "../helpers/wait";
import { allowRules } from "../integration/server/harness";
import { freePort } from "../helpers/ports";
import { launchBrowser, login } from "./browser";
import { addContactViaDialog, online, screenshotFailure } from "./flow-steps";

const DOMAIN = "example.test";
const PASSWORD = "Correct-Horse-9";
const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
const CAROL = `sip:carol@${DOMAIN}`;
const DAVE = `sip:dave@${DOMAIN}`;
const AUTH_SECRET = "restart-routing-test-auth-secret-0123456789";
const W = { timeoutMs: 20_000 };

const cleanups: Array<() => Promise<unknown> | unknown> = [];
/** The browser contexts of the running test: screenshots of their pages when it fails. */
const contexts: Record<string, BrowserContext | undefined> = {};
afterEach(async (ctx) => {
  if (ctx.task.result?.state === "fail") await screenshotFailure(`${ctx.task.suite?.name ?? ""} ${ctx.task.name}`, contexts, "restart-");
  for (const k of Object.keys(contexts)) delete contexts[k];
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Account ids by user name: a portal session names its account by id (and session epoch). */
const accountIds = new Map<string, string>();

async function seed(db: Db): Promise<void> {
  await addDomain(db, DOMAIN);
  for (const u of ["alice", "bob", "carol", "dave", "mallory"]) accountIds.set(u, String((await addAccount(db, { address: `${u}@${DOMAIN}`, password: PASSWORD })).id));
  const store = new PrismaXcapStore(db);
  const r = await store.put({ auid: "org.openmobilealliance.pres-rules", scope: "users", xui: ALICE, docPath: "index" }, { content: allowRules(ALICE, [BOB, CAROL, DAVE]), etag: "rules-1" }, null);
  if (!r.ok) throw new Error("seeding alice's pres-rules failed");
}

/** A SIP client over TCP to Herald's SIP port. */
async function tcp(h: HeraldProcess, user: string, password: string | undefined = PASSWORD): Promise<SipTestClient> {
  const c = await SipTestClient.connect({ host: "127.0.0.1", port: h.sipPort, user, domain: DOMAIN, password, timeoutMs: W.timeoutMs });
  cleanups.push(() => c.close());
  return c;
}

/** A browser's SIP: a WebSocket to the bridge with the user's portal session cookie, one SIP message per frame (RFC 7118). */
async function browser(h: HeraldProcess, user: string, password: string | undefined = PASSWORD): Promise<{ ua: SipTestClient; ws: WebSocket }> {
  const ws = await openBridgeSocket(h.baseUrl, await bridgeSessionCookie(accountIds.get(user)!, `${user}@${DOMAIN}`, AUTH_SECRET));
  cleanups.push(() => ws.terminate());
  const ua = await connectBridged(ws, { user, domain: DOMAIN, password, timeoutMs: W.timeoutMs });
  return { ua, ws };
}

/** Every NOTIFY `c` received belongs to one of its own dialogs. */
function onlyOwnNotifies(c: SipTestClient, callIds: string[]): void {
  const foreign = c.received.filter((r) => r.method === "NOTIFY" && !callIds.includes(r.callId));
  expect(foreign.map((r) => `${r.callId}: ${r.bodyText}`)).toEqual([]);
}

const notifies = (c: SipTestClient): SipRequest[] => c.received.filter((r) => r.method === "NOTIFY");

/** A SIP message's header value (first occurrence, compact forms included). */
function header(msg: string, names: string[]): string | undefined {
  for (const line of msg.split("\r\n\r\n")[0].split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0 && names.includes(line.slice(0, i).trim().toLowerCase())) return line.slice(i + 1).trim();
  }
  return undefined;
}

/** What dave's page sent and received over the bridge: his dialogs' Call-IDs and tags, and the NOTIFYs he got. */
interface PageSip {
  /** WebSocket connections the page opened to the bridge */
  connections: number;
  callIds: Set<string>;
  tags: Set<string>;
  notifyCallIds: string[];
}

/**
 * A browser context whose page WebSockets to /sip pass through the test, recording the Call-IDs and
 * From tags of the requests the page sends (its dialogs) and the Call-IDs of the NOTIFYs it gets.
 */
async function recordedContext(ctx: BrowserContext): Promise<PageSip> {
  const rec: PageSip = { connections: 0, callIds: new Set(), tags: new Set(), notifyCallIds: [] };
  await ctx.routeWebSocket(/\/sip$/, (ws) => {
    rec.connections++;
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      const text = m.toString();
      if (/^[A-Z]+ sip:/.test(text)) {
        const callId = header(text, ["call-id", "i"]);
        const tag = /;\s*tag=([^;\s]+)/.exec(header(text, ["from", "f"]) ?? "")?.[1];
        if (callId) rec.callIds.add(callId);
        if (tag) rec.tags.add(tag);
      }
      server.send(m);
    });
    server.onMessage((m) => {
      const text = m.toString();
      if (text.startsWith("NOTIFY ")) rec.notifyCallIds.push(header(text, ["call-id", "i"]) ?? "");
      ws.send(m);
    });
    ws.onClose((code, reason) => server.close({ code, reason }));
    server.onClose((code, reason) => ws.close({ code, reason }));
  });
  return rec;
}

/** Nothing `c` received belongs to dave: no request to his AOR, in his dialogs or with his tags. */
function nothingOfDaves(c: SipTestClient, dave: PageSip): void {
  const his = c.received.filter((r) => r.to.uri.toString().includes(`dave@${DOMAIN}`) || dave.callIds.has(r.callId) || dave.tags.has(r.to.tag ?? "") || dave.tags.has(r.from.tag ?? ""));
  expect(his.map((r) => `${r.method} ${r.callId}`)).toEqual([]);
}

const rowOf = (page: Page, aor: string) => page.getByTestId(`contact-${aor}`);
const connectionOf = (page: Page) => page.getByTestId("connection-status").getAttribute("data-connection");

describe.each(["SIGKILL", "SIGTERM"] as const)("restart (%s): NOTIFYs reach their own watcher or nobody", (signal) => {
  it("the attacker and the other users get none of the watchers' NOTIFYs; bob gets his in-dialog, carol re-subscribes, dave's page reconnects by itself; each sees the new state", async () => {
    // a fixed portal port: dave's page reconnects to the same address after the restart
    const env = { AUTH_SECRET, PORT: String(await freePort()) };
    const first = await startHerald({ seed, env });
    const running = { herald: first };
    cleanups.push(() => running.herald.stop());
    const chromium = await launchBrowser();
    cleanups.push(() => chromium.close());
    const daveCtx = await chromium.newContext();
    contexts.dave = daveCtx;
    const db = openDb(`file:${first.dataDir}/herald.db`);
    cleanups.push(() => db.$disconnect());

    // ---- run 1: two watchers of alice, and an attacker claiming bob's contact ----
    const bob = await tcp(first, "bob");
    await bob.listen(); // bob's Contact is reachable: after a restart Herald may dial it
    expect((await bob.register(3600)).status).toBe(200);
    const bobSub = (await bob.subscribe(ALICE, { expires: 3600 })).sub!;
    await bob.waitForNotify(() => true, { sub: bobSub });
    const carolTab = await browser(first, "carol");
    const carol = carolTab.ua;
    expect((await carol.register(3600)).status).toBe(200);
    const carolSub: ClientSubscription = (await carol.subscribe(ALICE, { expires: 3600 })).sub!;
    await carol.waitForNotify(() => true, { sub: carolSub });
    const daveSip = await recordedContext(daveCtx);
    const dave = await login(daveCtx, first.baseUrl, { address: `dave@${DOMAIN}`, password: PASSWORD });
    await online(dave);
    await addContactViaDialog(dave, `alice@${DOMAIN}`, "Alice");
    const alice = await tcp(first, "alice");
    expect((await alice.publish(pidf(ALICE, "open", "before-restart"))).status).toBe(200);
    await bob.waitForNotify((n) => n.bodyText.includes("before-restart"), { sub: bobSub });
    await carol.waitForNotify((n) => n.bodyText.includes("before-restart"), { sub: carolSub });
    await expect.poll(() => rowOf(dave, ALICE).getByTestId("contact-note").textContent(), { timeout: W.timeoutMs }).toBe("before-restart");
    expect(await rowOf(dave, ALICE).getAttribute("data-availability")).toBe("available");
    const attacker = await tcp(first, "mallory", undefined);
    const claim = attacker.build("OPTIONS", `sip:${DOMAIN}`, { contact: false });
    claim.setHeader("Via", `SIP/2.0/TCP 127.0.0.1:${bob.listenPort};branch=z9hG4bK${generateTag()};rport;alias`);
    expect((await attacker.sendRequest(claim)).status).toBe(200);
    // the state is written behind: wait until both subscriptions and the registrations are stored
    await waitFor(async () => {
      const rows = await db.presenceState.findMany({ select: { kind: true, data: true } });
      const stored = (kind: string, who: string) => rows.some((r) => r.kind === kind && r.data.includes(who));
      return [BOB, CAROL, DAVE].every((w) => stored("subscription", w)) && [BOB, CAROL].every((w) => stored("registration", w));
    }, { ...W, what: "state persisted" });

    await first.kill(signal);
    await waitFor(() => bob.closed && carolTab.ws.readyState === WebSocket.CLOSED, { ...W, what: "watchers' connections gone with the process" });
    // dave's page: reconnecting, and nothing shown as live while Herald is down
    await expect.poll(() => connectionOf(dave), { timeout: W.timeoutMs }).toBe("reconnecting");
    expect(await dave.getByTestId("connection-status").textContent()).toBe("Reconnecting…");
    expect(await rowOf(dave, ALICE).getAttribute("data-availability")).toBe("unknown");
    const notifiesBefore = daveSip.notifyCallIds.length;

    // ---- run 2: the attacker is first, on TCP and over the bridge ----
    const second = await startHerald({ dataDir: first.dataDir, sipPort: first.sipPort, env });
    running.herald = second;
    const attacker2 = await tcp(second, "mallory", undefined);
    const claim2 = attacker2.build("OPTIONS", `sip:${DOMAIN}`, { contact: false });
    claim2.setHeader("Via", `SIP/2.0/TCP 127.0.0.1:${bob.listenPort};branch=z9hG4bK${generateTag()};rport;alias`);
    expect((await attacker2.sendRequest(claim2)).status).toBe(200);
    const malloryTab = await browser(second, "mallory"); // the run's first flow: carol's old flow port
    const alice2 = await tcp(second, "alice");
    expect((await alice2.publish(pidf(ALICE, "open", `after-${signal}`))).status).toBe(200);

    // bob: in-dialog, over his re-dialled Contact
    const bobAfter = await bob.waitForNotify((n) => n.bodyText.includes(`after-${signal}`), { sub: bobSub, timeoutMs: W.timeoutMs });
    expect([bobAfter.callId, bobAfter.from.tag, bobAfter.to.tag]).toEqual([bobSub.dialog.id.callId, bobSub.dialog.id.remoteTag, bobSub.dialog.id.localTag]);
    // bob refreshing from a new connection must prove who he is (challenged, then accepted)
    const bob2 = await tcp(second, "bob");
    expect((await bob2.resubscribe(bobSub, 3600)).status).toBe(200);
    await bob2.waitForNotify((n) => n.bodyText.includes(`after-${signal}`), { sub: bobSub });

    // carol: her flow died with the process; her page reconnects and refreshes its dialog
    const carol2 = (await browser(second, "carol")).ua;
    expect((await carol2.register(3600)).status).toBe(200);
    const refresh = await carol2.resubscribe(carolSub, 3600);
    expect([200, 481]).toContain(refresh.status); // in-dialog still, or told to subscribe again
    let carolCallIds = [carolSub.dialog.id.callId];
    if (refresh.status === 481) {
      const again = (await carol2.subscribe(ALICE, { expires: 3600 })).sub!;
      carolCallIds = [...carolCallIds, again.dialog.id.callId];
      await carol2.waitForNotify((n) => n.bodyText.includes(`after-${signal}`), { sub: again });
    } else {
      await carol2.waitForNotify((n) => n.bodyText.includes(`after-${signal}`), { sub: carolSub });
    }

    // dave: his page reconnected by itself (JsSIP's recovery, up to 30 s apart) and shows the new state
    await expect.poll(() => connectionOf(dave), { timeout: 60_000 }).toBe("online");
    await expect.poll(() => rowOf(dave, ALICE).getByTestId("contact-note").textContent(), { timeout: W.timeoutMs }).toBe(`after-${signal}`);
    expect(await rowOf(dave, ALICE).getAttribute("data-availability")).toBe("available");
    expect(daveSip.notifyCallIds.length).toBeGreaterThan(notifiesBefore); // the new state came by NOTIFY on the new connection
    expect(daveSip.connections).toBeGreaterThanOrEqual(2); // the same page, a new bridge connection (no reload)

    // nobody got anyone else's NOTIFY
    expect(notifies(attacker)).toEqual([]);
    expect(notifies(attacker2)).toEqual([]);
    expect(notifies(malloryTab.ua)).toEqual([]);
    expect(notifies(alice)).toEqual([]);
    expect(notifies(alice2)).toEqual([]);
    onlyOwnNotifies(bob, [bobSub.dialog.id.callId]);
    onlyOwnNotifies(bob2, [bobSub.dialog.id.callId]);
    onlyOwnNotifies(carol, [carolSub.dialog.id.callId]);
    onlyOwnNotifies(carol2, carolCallIds);
    for (const c of [attacker, attacker2, malloryTab.ua, alice, alice2, bob, bob2, carol, carol2]) nothingOfDaves(c, daveSip);
    // and every NOTIFY dave's page got was in a dialog his page had opened
    expect(daveSip.notifyCallIds.filter((id) => !daveSip.callIds.has(id))).toEqual([]);
  }, 240_000);
});
