/**
 * Disable, delete and password change end the account everywhere, also when the CLI — another
 * process — makes the change (ISSUE-11 item 9): the page's bridge WebSocket is closed with 4001
 * and the reason within the bound (SESSION_REVOCATION_POLL_MS, 1 s; asserted ≤ 5 s), the portal
 * session cookie is refused, XCAP digest (cached credentials included) and SIP REGISTER are
 * refused, the SIP server forgets the account's registrations. Real sockets, real SQLite, the
 * real login path (next-auth authorize + jwt callback) for session cookies.
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { encode } from "next-auth/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { addAccount, addDomain, setDisabled } from "@/lib/accounts/service";
import { ephemeralRevocationCheck, type Revocation } from "@/lib/accounts/revocations";
import { issueEphemeralCredentials, type EphemeralCredentials } from "@/lib/sip";
import { digestHa1 } from "@/lib/accounts/password";
import { RevocationWatcher } from "@/lib/accounts/revocation-watcher";
import { createSipBridge, WsClose, type SipBridge } from "@/lib/bridge";
import { loadConfig, type HeraldConfig } from "@/lib/config";
import { sessionAorOfUpgrade } from "@/lib/portal/bridge-auth";
import { bridgeUpstream } from "@/lib/cli/start";
import { startEmbeddedSipServer, type RunningSipServer } from "@/lib/server/main";
import { PrismaXcapStore } from "@/lib/storage/xcap-prisma-store";
import { XcapClient, XcapClientError } from "@/lib/xcap/client";
import { SipTestClient } from "../helpers/sip-client";
import { tempSqliteDb, type TempDb } from "../helpers/temp-db";
import { testXcapHttp } from "../helpers/test-xcap-http";
import { serveFetch } from "../helpers/xcap-http-server";
import { waitFor } from "../helpers/wait";
import { portalSessionCookie } from "../helpers/portal-login";
import { startRevocationWatcher } from "../helpers/revocation-wiring";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const BOUND_MS = 5000;
const run = promisify(execFile);

let t: TempDb;
let cfg: HeraldConfig;
let sip: RunningSipServer;
let bridge: SipBridge;
let wsUrl: string;
let watcher: RevocationWatcher;
let xcap: Awaited<ReturnType<typeof serveFetch>>;

const PASSWORDS: Record<string, string> = { alice: "Alice-pass1", bob: "Bob-pass1", carol: "Carol-pass1" };
/** A second domain, disabled in one test. */
const DORA = { address: "dora@other.test", password: "Dora-pass1" };

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "herald-revoke-"));
  t = await tempSqliteDb();
  cfg = loadConfig({ HERALD_DATA_DIR: dir, DATABASE_URL: t.url, SIP_HOST: "127.0.0.1", SIP_PORT: "0" });
  (globalThis as { __heraldConfig?: unknown }).__heraldConfig = cfg;
  await addDomain(t.db, "example.test");
  for (const [u, pw] of Object.entries(PASSWORDS)) await addAccount(t.db, { address: `${u}@example.test`, password: pw });
  await addDomain(t.db, "other.test");
  await addAccount(t.db, DORA);
  sip = await startEmbeddedSipServer(cfg, t.db, { store: new PrismaXcapStore(t.db) }, { rls: false });
  bridge = createSipBridge({ upstream: bridgeUpstream(cfg, sip), authenticate: sessionAorOfUpgrade });
  wsUrl = `ws://127.0.0.1:${(await bridge.listen(0, "127.0.0.1")).port}/sip`;
  watcher = await startRevocationWatcher(t.db, cfg, bridge, sip);
  // cached credentials for a minute: only the watcher's cache emptying can refuse them in time
  const x = testXcapHttp(t.db, {
    ephemeralSecret: cfg.ephemeralSecret,
    credentialsTtlMs: 60_000,
    ephemeralRevoked: ephemeralRevocationCheck(cfg.SIP_EPHEMERAL_TTL), // as lib/portal/xcap.ts
  });
  xcap = await serveFetch((r) => x.handle(r));
});

afterAll(async () => {
  await watcher?.stop();
  await bridge?.close();
  await sip?.stop();
  await xcap?.close();
  await t?.close();
});

/** The CLI in its own process, on the same database. */
async function cli(...args: string[]): Promise<string> {
  const r = await run(process.execPath, ["--import", "tsx", path.join(ROOT, "lib/cli/main.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: t.url, HERALD_DATA_DIR: cfg.HERALD_DATA_DIR },
    timeout: 60_000,
  });
  return r.stdout;
}

/** A session cookie from the portal's real login path (authorize, then the jwt callback). */
function login(address: string, password: string): Promise<string> {
  return portalSessionCookie(address, password, cfg.authSecret);
}

const upgradeWith = (cookie: string) => ({ headers: { cookie } }) as unknown as IncomingMessage;

interface Page {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string; at: number }>;
}

function openPage(cookie: string): Promise<Page> {
  const ws = new WebSocket(wsUrl, "sip", { headers: { cookie } });
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() })),
  );
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, closed }));
    ws.once("error", reject);
  });
}

async function xcapStatus(user: string, password: string): Promise<number> {
  const c = new XcapClient({ root: `${xcap.url}/xcap-root`, xui: `sip:${user}@example.test`, auth: { username: user, ha1: digestHa1(user, "example.test", password) } });
  try {
    await c.getDocument("resource-lists", "index");
    return 200; // the document or none (404 is null): authenticated either way
  } catch (e) {
    if (e instanceof XcapClientError) return e.status;
    throw e;
  }
}

/** XCAP and SIP REGISTER with a page's short-lived credentials (autheph) for `user`. */
async function ephemeralStatuses(user: string, eph: EphemeralCredentials): Promise<{ xcap: number; sip: number }> {
  const c = new XcapClient({ root: `${xcap.url}/xcap-root`, xui: `sip:${user}@example.test`, auth: { username: eph.username, ha1: digestHa1(eph.username, "example.test", eph.password) } });
  let x = 200;
  try {
    await c.getDocument("resource-lists", "index");
  } catch (e) {
    if (!(e instanceof XcapClientError)) throw e;
    x = e.status;
  }
  return { xcap: x, sip: await sipRegister(user, eph.password, eph.username) };
}

async function sipRegister(user: string, password: string, authUser?: string) {
  const c = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user, domain: "example.test", password, ...(authUser ? { authUser } : {}) });
  try {
    return (await c.register(600)).status;
  } finally {
    await c.close();
  }
}

/** `p`, or a failure once `ms` passed (the socket was not closed within the bound). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms).unref())]);
}

describe("an account's sessions end when another process changes it", { timeout: 120_000 }, () => {
  it("disable: the open page's socket closes with 4001 'disabled' within the bound; session, XCAP and SIP refused", async () => {
    const cookie = await login("alice@example.test", PASSWORDS.alice);
    const bobCookie = await login("bob@example.test", PASSWORDS.bob);
    const page = await openPage(cookie);
    const bobPage = await openPage(bobCookie);
    expect(await sessionAorOfUpgrade(upgradeWith(cookie))).toEqual({ aor: "alice@example.test" });
    expect(await xcapStatus("alice", PASSWORDS.alice)).toBe(200); // authenticated (no document yet): now cached
    expect(await sipRegister("alice", PASSWORDS.alice)).toBe(200);
    expect(sip.server.registrar.bindingsOf("sip:alice@example.test")).toHaveLength(1);
    // a SIP client of alice's with a subscription (to bob) over its own TCP connection
    const phone = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user: "alice", domain: "example.test", password: PASSWORDS.alice });
    const { sub } = await phone.subscribe("sip:bob@example.test");
    expect(sub).toBeDefined();

    expect(await cli("accounts", "disable", "alice@example.test")).toContain("disabled");
    const done = Date.now();
    const closed = await within(page.closed, BOUND_MS);
    expect(closed).toMatchObject({ code: WsClose.SessionEnded, reason: "disabled" });
    expect(closed.at - done).toBeLessThanOrEqual(BOUND_MS);

    expect(await sessionAorOfUpgrade(upgradeWith(cookie))).toBeNull();
    expect(await xcapStatus("alice", PASSWORDS.alice)).toBe(401);
    expect(await sipRegister("alice", PASSWORDS.alice)).toBe(401); // credentials unknown: challenged again
    expect(sip.server.registrar.bindingsOf("sip:alice@example.test")).toHaveLength(0);
    // its subscriptions end: final NOTIFY, no retry (RFC 6665 §4.2.2), and a refresh finds no dialog
    const final = await phone.waitForNotify((n) => /terminated/.test(n.getHeader("Subscription-State") ?? ""), { sub });
    expect(final.getHeader("Subscription-State")).toMatch(/reason=rejected/);
    expect((await phone.resubscribe(sub!, 600)).status).toBe(481);
    await phone.close();
    // another user is untouched
    expect(bobPage.ws.readyState).toBe(WebSocket.OPEN);
    bobPage.ws.close();
    await cli("accounts", "enable", "alice@example.test");
  });

  it("domain disable: every page of the domain's users closes with 4001 'domain-disabled', sessions, login and SIP refused; other domains untouched; enable lets them in again", async () => {
    const cookie = await login(DORA.address, DORA.password);
    const bobCookie = await login("bob@example.test", PASSWORDS.bob);
    const page = await openPage(cookie);
    const bobPage = await openPage(bobCookie);
    const phone = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user: "dora", domain: "other.test", password: DORA.password });
    expect((await phone.register(600)).status).toBe(200);
    expect(sip.server.registrar.bindingsOf("sip:dora@other.test")).toHaveLength(1);

    expect(await cli("domains", "disable", "other.test")).toContain("other.test");
    const done = Date.now();
    const closed = await within(page.closed, BOUND_MS);
    expect(closed).toMatchObject({ code: WsClose.SessionEnded, reason: "domain-disabled" });
    expect(closed.at - done).toBeLessThanOrEqual(BOUND_MS);
    expect(await sessionAorOfUpgrade(upgradeWith(cookie))).toBeNull();
    await expect(login(DORA.address, DORA.password)).rejects.toThrow(/disabled/);
    await waitFor(() => sip.server.registrar.bindingsOf("sip:dora@other.test").length === 0, { timeoutMs: BOUND_MS });
    await phone.close();
    expect(bobPage.ws.readyState).toBe(WebSocket.OPEN);
    bobPage.ws.close();

    await cli("domains", "enable", "other.test");
    const again = await openPage(await login(DORA.address, DORA.password));
    again.ws.close();
  });

  it("password change: sessions from before are refused and their socket closed; a new login works", async () => {
    const old = await login("bob@example.test", PASSWORDS.bob);
    const page = await openPage(old);
    expect(await xcapStatus("bob", PASSWORDS.bob)).toBe(200);
    // the short-lived SIP credentials the page was given with the old session
    const pageCredentials = issueEphemeralCredentials({ secret: cfg.ephemeralSecret, user: "bob", ttlSeconds: cfg.SIP_EPHEMERAL_TTL });
    expect(await ephemeralStatuses("bob", pageCredentials)).toEqual({ xcap: 200, sip: 200 });
    await cli("accounts", "passwd", "bob@example.test", "--password", "Bob-newpass2");
    const done = Date.now();
    const closed = await within(page.closed, BOUND_MS);
    expect(closed).toMatchObject({ code: WsClose.SessionEnded, reason: "password-changed" });
    expect(closed.at - done).toBeLessThanOrEqual(BOUND_MS);
    expect(await sessionAorOfUpgrade(upgradeWith(old))).toBeNull();
    await expect(openPage(old)).rejects.toThrow(/401/);
    expect(await xcapStatus("bob", PASSWORDS.bob)).toBe(401);
    expect(await sipRegister("bob", PASSWORDS.bob)).toBe(401);
    // they were issued to the session that ended: refused too, though not expired
    expect(await ephemeralStatuses("bob", pageCredentials)).toEqual({ xcap: 401, sip: 401 });
    // credentials issued after the change work
    const newCredentials = issueEphemeralCredentials({ secret: cfg.ephemeralSecret, user: "bob", ttlSeconds: cfg.SIP_EPHEMERAL_TTL });
    expect(await ephemeralStatuses("bob", newCredentials)).toEqual({ xcap: 200, sip: 200 });

    const fresh = await login("bob@example.test", "Bob-newpass2");
    expect(await sessionAorOfUpgrade(upgradeWith(fresh))).toEqual({ aor: "bob@example.test" });
    const again = await openPage(fresh);
    expect(again.ws.readyState).toBe(WebSocket.OPEN);
    again.ws.close();
    expect(await xcapStatus("bob", "Bob-newpass2")).toBe(200);
  });

  it("delete: socket closed with 'deleted', documents gone; a new account of the same address does not take the old session", async () => {
    const cookie = await login("carol@example.test", PASSWORDS.carol);
    const page = await openPage(cookie);
    await t.db.xcapDocument.create({ data: { auid: "resource-lists", scope: "users", xui: "sip:carol@example.test", path: "index", content: "<x/>", etag: "e1" } });
    expect(await xcapStatus("carol", PASSWORDS.carol)).toBe(200);
    await cli("accounts", "delete", "carol@example.test");
    const done = Date.now();
    const closed = await within(page.closed, BOUND_MS);
    expect(closed).toMatchObject({ code: WsClose.SessionEnded, reason: "deleted" });
    expect(closed.at - done).toBeLessThanOrEqual(BOUND_MS);
    expect(await t.db.xcapDocument.count({ where: { xui: "sip:carol@example.test" } })).toBe(0);
    expect(await xcapStatus("carol", PASSWORDS.carol)).toBe(401);
    expect(await sipRegister("carol", PASSWORDS.carol)).toBe(401); // credentials unknown: challenged again

    await addAccount(t.db, { address: "carol@example.test", password: PASSWORDS.carol });
    // same address, same epoch 0 — but another account id
    expect(await sessionAorOfUpgrade(upgradeWith(cookie))).toBeNull();
  });

  it("a session without an epoch (issued before epochs existed) is refused", async () => {
    const acc = await t.db.account.findUniqueOrThrow({ where: { address: "bob@example.test" } });
    const cookie = `next-auth.session-token=${await encode({ token: { sub: String(acc.id), address: acc.address }, secret: cfg.authSecret })}`;
    expect(await sessionAorOfUpgrade(upgradeWith(cookie))).toBeNull();
  });

  it("a change made in the server's own process (portal) is acted on at once, not at the next poll", async () => {
    const seen: Revocation[] = [];
    const slow = new RevocationWatcher({ db: t.db, intervalMs: 60_000, onRevoked: (r) => void seen.push(r) });
    await slow.start();
    try {
      await setDisabled(t.db, "alice@example.test", true, "admin@example.test");
      await waitFor(() => seen.length === 1, { timeoutMs: 2000, what: "the revocation" });
      expect(seen[0]).toMatchObject({ address: "alice@example.test", reason: "disabled" });
    } finally {
      await slow.stop();
    }
  });
});
