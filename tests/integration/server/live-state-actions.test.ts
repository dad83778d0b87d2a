/**
 * The console's live-state actions (ISSUE-16 item 2) on `herald start`'s wiring (lib/cli/start.ts
 * liveStateSource: the embedded server and the bridge), over real TCP and a real WebSocket:
 * ending a web page's registration closes its bridge connection with 4001 "operator" (the page
 * says the operator signed it out) and removes the binding; ending a plain SIP registration removes
 * the binding; terminating a subscription sends the watcher `terminated;reason=rejected`; clearing
 * a publication gives watchers the state without it. Each is audited as the operator.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { createSipBridge, WsClose, type SipBridge } from "@/lib/bridge";
import { bridgeUpstream, liveStateSource } from "@/lib/cli/start";
import { loadConfig } from "@/lib/config";
import { consoleOps } from "@/lib/portal/admin";
import { liveAccountState, liveStateActions, setLiveStateSource } from "@/lib/portal/live-state";
import { startEmbeddedSipServer, type RunningSipServer } from "@/lib/server/main";
import { PrismaXcapStore } from "@/lib/storage/xcap-prisma-store";
import { SipResponse, buildDigestAuthorization, createRequest, generateCallId, generateTag, parseMessage, serializeMessage, type SipRequest } from "@/lib/sip";
import { SipTestClient, pidf } from "../../helpers/sip-client";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";
import { cookieSession } from "../bridge/session-cookie";
import { OMA_RULES, RlsXcap, rulesXml } from "./rls-harness";

const PASSWORD = "Secret-pass1";
const ALICE = "sip:alice@example.test";
const BOB = "sip:bob@example.test";
const OPERATOR = { admin: { address: "admin@example.test" } as never, actor: { actor: "admin:admin@example.test", ip: "192.0.2.9" } };

let t: TempDb;
let sip: RunningSipServer;
let bridge: SipBridge;
let wsUrl: string;
let xcap: RlsXcap;
const closers: Array<() => unknown> = [];

beforeAll(async () => {
  t = await tempSqliteDb();
  const cfg = loadConfig({ HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-live-act-")), DATABASE_URL: t.url, SIP_HOST: "127.0.0.1", SIP_PORT: "0", SIP_NOTIFY_INTERVAL_MS: "0" });
  await addDomain(t.db, "example.test");
  for (const u of ["alice", "bob"]) await addAccount(t.db, { address: `${u}@example.test`, password: PASSWORD });
  xcap = new RlsXcap(new PrismaXcapStore(t.db));
  sip = await startEmbeddedSipServer(cfg, t.db, { store: xcap.store, subscribe: xcap.subscribe }, { rls: false });
  bridge = createSipBridge({ upstream: bridgeUpstream(cfg, sip), authenticate: cookieSession("example.test") });
  wsUrl = `ws://127.0.0.1:${(await bridge.listen(0, "127.0.0.1")).port}/sip`;
  setLiveStateSource(liveStateSource(sip, bridge));
  await xcap.put(ALICE, OMA_RULES, rulesXml(ALICE, [{ id: "a", identities: [BOB], handling: "allow" }]));
});

afterAll(async () => {
  for (const c of closers.reverse()) await c();
  setLiveStateSource(undefined);
  await bridge?.close();
  await sip?.stop();
  await t?.close();
});

async function tcpClient(user: string): Promise<SipTestClient> {
  const c = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user, domain: "example.test", password: PASSWORD });
  closers.push(() => c.close());
  return c;
}

/** A web page's SIP over the bridge: a REGISTER with digest, the close code and reason it gets. */
async function pageRegistration(user: string): Promise<{ closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(wsUrl, "sip", { headers: { cookie: `session=${user}` } });
  closers.push(() => ws.terminate());
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const answers = new Map<number, (r: SipResponse) => void>();
  ws.on("message", (data) => {
    const m = parseMessage(data as Buffer);
    if (m instanceof SipResponse && m.status >= 200) answers.get(m.cseq.seq)?.(m);
  });
  const token = generateTag();
  const contact = `sip:${token}@${token}.invalid;transport=ws;ob`;
  const callId = generateCallId("page");
  const fromTag = generateTag();
  let cseq = 1;
  const register = (auth?: (r: SipRequest) => void) => {
    const req = createRequest({ method: "REGISTER", uri: "sip:example.test", from: `<sip:${user}@example.test>;tag=${fromTag}`, to: `<sip:${user}@example.test>`, callId, cseq: cseq++, via: { transport: "WSS", host: "k3b9x2p1q7.invalid" }, contact: `<${contact}>;+sip.instance="<urn:uuid:00000000-0000-4000-8000-000000000001>";reg-id=1`, headers: [["Expires", "600"]] });
    auth?.(req);
    const answer = new Promise<SipResponse>((resolve) => answers.set(req.cseq.seq, resolve));
    ws.send(serializeMessage(req).toString("utf8"));
    return answer;
  };
  let r = await register();
  if (r.status === 401) {
    const challenge = r.getHeader("WWW-Authenticate")!;
    r = await register((req) => req.setHeader("Authorization", buildDigestAuthorization({ challenge, method: "REGISTER", uri: "sip:example.test", username: user, password: PASSWORD, nc: 1 })));
  }
  expect(r.status).toBe(200);
  return { closed };
}

describe("live-state actions", { timeout: 60_000 }, () => {
  it("ending a web page's registration closes its bridge connection with 4001 'operator' and removes the binding; audited", async () => {
    const page = await pageRegistration("alice");
    // the bridge rewrote the page's Contact (RFC 7118 §5): the binding has its own
    const regs = liveAccountState("alice@example.test")!.registrations;
    expect(regs).toEqual([expect.objectContaining({ inProcessFlow: true })]);
    const contact = regs[0]!.contact;
    await consoleOps.endRegistration({ address: "alice@example.test", contact }, OPERATOR);
    expect(await page.closed).toEqual({ code: WsClose.SessionEnded, reason: "operator" });
    expect(liveAccountState("alice@example.test")!.registrations).toEqual([]);
    await expect(consoleOps.endRegistration({ address: "alice@example.test", contact }, OPERATOR)).rejects.toThrow(/already ended/);
    const audit = await t.db.auditEvent.findMany({ where: { action: "live.registration.end" } });
    expect(audit).toEqual([expect.objectContaining({ actor: "admin:admin@example.test", target: "alice@example.test", detail: `contact=${contact}`, ip: "192.0.2.9" })]);
  });

  it("ending a plain SIP registration removes its binding (the device registers again at its next refresh)", async () => {
    const alice = await tcpClient("alice");
    expect((await alice.register(600)).status).toBe(200);
    const [reg] = liveAccountState("alice@example.test")!.registrations;
    expect(reg).toMatchObject({ inProcessFlow: false });
    expect(liveStateActions.endRegistration("alice@example.test", reg!.contact)).toBe("done");
    expect(liveAccountState("alice@example.test")!.registrations).toEqual([]);
    expect(liveStateActions.endRegistration("alice@example.test", reg!.contact)).toBe("gone");
  });

  it("terminating a subscription: the watcher gets a final NOTIFY terminated;reason=rejected; audited", async () => {
    const bob = await tcpClient("bob");
    const { sub } = await bob.subscribe(ALICE);
    await bob.waitForNotify((n) => /^active/.test(n.getHeader("Subscription-State") ?? ""), { sub });
    const [received] = liveAccountState("alice@example.test")!.subscriptionsReceived;
    expect(received).toMatchObject({ watcher: BOB, event: "presence", state: "active" });
    // another account's subscription is not this account's to end
    expect(liveStateActions.terminateSubscription("bob@example.test", "no-such-id")).toBe("gone");
    await consoleOps.terminateSubscription({ address: "alice@example.test", id: received!.id }, OPERATOR);
    const final = await bob.waitForNotify((n) => /^terminated/.test(n.getHeader("Subscription-State") ?? ""), { sub });
    expect(final.getHeader("Subscription-State")).toMatch(/reason=rejected/);
    expect(liveAccountState("alice@example.test")!.subscriptionsReceived.filter((s) => s.state !== "terminated")).toEqual([]);
    expect(await t.db.auditEvent.count({ where: { action: "live.subscription.terminate", target: "alice@example.test", detail: `id=${received!.id}` } })).toBe(1);
  });

  it("clearing a publication: watchers get the state without it; audited", async () => {
    const alice = await tcpClient("alice");
    const pub = await alice.publish(pidf(ALICE, "open", "Cleared soon"));
    expect(pub.status).toBe(200);
    const bob = await tcpClient("bob");
    const { sub } = await bob.subscribe(ALICE);
    await bob.waitForNotify((n) => n.bodyText.includes("Cleared soon"), { sub });
    const from = bob.notifies(sub).length;
    await consoleOps.clearPublication({ address: "alice@example.test", etag: pub.getHeader("SIP-ETag")! }, OPERATOR);
    const after = await bob.waitForNotify((n) => n.bodyText.length > 0, { sub, from });
    expect(after.bodyText).not.toContain("Cleared soon");
    expect(after.bodyText).toMatch(/<basic>closed<\/basic>/);
    expect(liveAccountState("alice@example.test")!.publications).toEqual([]);
    expect(liveStateActions.clearPublication("alice@example.test", pub.getHeader("SIP-ETag")!)).toBe("gone");
    expect(await t.db.auditEvent.count({ where: { action: "live.publication.clear", target: "alice@example.test" } })).toBe(1);
  });

  it("without a SIP server in the process the actions say so and change nothing", async () => {
    setLiveStateSource(undefined);
    try {
      await expect(consoleOps.clearPublication({ address: "alice@example.test", etag: "x" }, OPERATOR)).rejects.toThrow(/no embedded SIP server/);
    } finally {
      setLiveStateSource(liveStateSource(sip, bridge));
    }
  });
});
