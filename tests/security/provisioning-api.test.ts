/**
 * The provisioning API's doors (ISSUE-16 item 6): only a live bearer token opens it — no token,
 * a user's (or an admin's) portal session cookie, an unknown or a revoked token are 401 problems
 * and change nothing; bad tokens count in the shared auth limiter (429 + Retry-After); bad input
 * is a specific problem and changes nothing; deleting an account through the API ends its live
 * sessions (bridge page closed with 4001 "deleted", its watchers' subscriptions terminated).
 */
import { listRoutes } from "@/lib/portal/api/list-routes";
import { createDepartmentList } from "@/lib/accounts/department-lists";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { AuthLimiter } from "@/lib/accounts/auth-limiter";
import { createApiToken, hashToken, revokeApiToken } from "@/lib/accounts/api-tokens";
import { RevocationWatcher } from "@/lib/accounts/revocation-watcher";
import { createSipBridge, WsClose, type SipBridge } from "@/lib/bridge";
import { loadConfig, type HeraldConfig } from "@/lib/config";
import { sessionAorOfUpgrade } from "@/lib/portal/bridge-auth";
import { bridgeUpstream } from "@/lib/cli/start";
import { startEmbeddedSipServer, type RunningSipServer } from "@/lib/server/main";
import { PrismaXcapStore } from "@/lib/storage/xcap-prisma-store";
import { SipTestClient } from "../helpers/sip-client";
import { tempSqliteDb, type TempDb } from "../helpers/temp-db";
import { serveTestApi, type TestApi } from "../helpers/api-client";
import { portalSessionCookie } from "../helpers/portal-login";
import { startRevocationWatcher } from "../helpers/revocation-wiring";

let t: TempDb;
let cfg: HeraldConfig;
let api: TestApi;
let token: string;
let sip: RunningSipServer;
let bridge: SipBridge;
let wsUrl: string;
let watcher: RevocationWatcher;

const PASSWORDS: Record<string, string> = { alice: "Alice-pass1", bob: "Bob-pass1", admin: "Admin-pass1" };

beforeAll(async () => {
  t = await tempSqliteDb();
  cfg = loadConfig({ HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-api-")), DATABASE_URL: t.url, SIP_HOST: "127.0.0.1", SIP_PORT: "0" });
  (globalThis as { __heraldConfig?: unknown }).__heraldConfig = cfg;
  await addDomain(t.db, "example.test");
  for (const [u, pw] of Object.entries(PASSWORDS)) await addAccount(t.db, { address: `${u}@example.test`, password: pw, role: u === "admin" ? "admin" : "user" });
  token = (await createApiToken(t.db, "provisioning")).token;
  // small allowances so the limiter test needs few requests
  api = await serveTestApi(t.db, { token, limiter: new AuthLimiter({ perAccountAddress: 3, perAddress: 5, perAccount: 50 }), routes: listRoutes(t.db, { maxMembers: 50 }) });
  await createDepartmentList(t.db, { address: "support@example.test", members: [{ address: "alice@example.test" }] });
  sip = await startEmbeddedSipServer(cfg, t.db, { store: new PrismaXcapStore(t.db) }, { rls: false });
  bridge = createSipBridge({ upstream: bridgeUpstream(cfg, sip), authenticate: sessionAorOfUpgrade });
  wsUrl = `ws://127.0.0.1:${(await bridge.listen(0, "127.0.0.1")).port}/sip`;
  watcher = await startRevocationWatcher(t.db, cfg, bridge, sip);
});

afterAll(async () => {
  await watcher?.stop();
  await bridge?.close();
  await sip?.stop();
  await api?.close();
  await t?.close();
});

/** A session cookie from the portal's real login path (authorize, then the jwt callback). */
function login(address: string, password: string): Promise<string> {
  return portalSessionCookie(address, password, cfg.authSecret);
}

/** Everything a refused request could have changed. */
async function snapshot() {
  const [accounts, domains, audit, tokens, lists] = await Promise.all([
    t.db.account.findMany({ orderBy: { id: "asc" } }),
    t.db.domain.findMany({ orderBy: { id: "asc" } }),
    t.db.auditEvent.count({ where: { NOT: { action: { startsWith: "login" } } } }),
    t.db.apiToken.findMany({ orderBy: { id: "asc" }, select: { id: true, revokedAt: true } }),
    t.db.departmentList.findMany({ orderBy: { id: "asc" }, include: { members: { orderBy: { position: "asc" } } } }),
  ]);
  return { accounts, domains, audit, tokens, lists };
}

const CHANGES: Array<[string, string, unknown]> = [
  ["POST", "/accounts", { address: "mallory@example.test", password: "Mallory-pass1" }],
  ["PATCH", "/accounts/bob@example.test", { role: "admin" }],
  ["DELETE", "/accounts/bob@example.test", undefined],
  ["POST", "/domains", { name: "evil.test" }],
  ["PATCH", "/domains/example.test", { enabled: false }],
  ["POST", "/lists", { address: "sales@example.test" }],
  ["PUT", "/lists/support@example.test", { members: [{ address: "bob@example.test" }] }],
  ["PATCH", "/lists/support@example.test", { add: [{ address: "bob@example.test" }] }],
  ["DELETE", "/lists/support@example.test", undefined],
];

describe("authorization", { timeout: 60_000 }, () => {
  it("no token: 401 with a Bearer challenge, for reads and every change; nothing changes", async () => {
    const before = await snapshot();
    const r = await api.call("GET", "/accounts", { token: null });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe('Bearer realm="herald-api"');
    expect(JSON.stringify(r.body)).not.toContain("alice");
    for (const [method, p, body] of CHANGES) expect((await api.call(method, p, { token: null, body })).status).toBe(401);
    expect(await snapshot()).toEqual(before);
  });

  it("a user's session cookie — and an admin's — is no credential: 401, nothing changes", async () => {
    const before = await snapshot();
    for (const who of ["alice", "admin"]) {
      const cookie = await login(`${who}@example.test`, PASSWORDS[who]);
      expect(await sessionAorOfUpgrade({ headers: { cookie } } as never)).toEqual({ aor: `${who}@example.test` }); // a live session
      for (const [method, p, body] of [["GET", "/accounts", undefined] as const, ...CHANGES]) {
        const r = await api.call(method, p, { token: null, body, headers: { cookie } });
        expect(r.status, `${method} ${p} with ${who}'s cookie`).toBe(401);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it("an unknown token, a malformed header and a revoked token: 401 invalid_token; nothing changes", async () => {
    const before = await snapshot();
    const unknown = "herald_" + "A".repeat(43);
    let r = await api.call("POST", "/accounts", { token: unknown, body: CHANGES[0][2] });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
    r = await api.call("GET", "/accounts", { token: null, headers: { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` } });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toMatch(/error="invalid_request"/);
    expect(await snapshot()).toEqual(before);

    const { token: doomed } = await createApiToken(t.db, "doomed");
    expect((await api.call("GET", "/accounts", { token: doomed })).status).toBe(200);
    await revokeApiToken(t.db, "doomed");
    const mid = await snapshot();
    for (const [method, p, body] of CHANGES) {
      r = await api.call(method, p, { token: doomed, body });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ detail: "the token was revoked" });
    }
    expect(await snapshot()).toEqual(mid);
  });

  it("only the token's hash is stored", async () => {
    const rows = await t.db.apiToken.findMany();
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows.some((row) => row.tokenHash === hashToken(token))).toBe(true);
  });

  it("bad tokens count in the shared limiter: 429 + Retry-After from the same address, other addresses unaffected", async () => {
    const from = { "x-herald-client-ip": "192.0.2.7" };
    const guess = (i: number) => `herald_${"B".repeat(42)}${"abcdefgh"[i % 8]}`;
    let last = 0;
    for (let i = 0; i < 12 && last !== 429; i++) last = (await api.call("GET", "/accounts", { token: guess(i), headers: from })).status;
    expect(last).toBe(429);
    const r = await api.call("GET", "/accounts", { token: guess(0), headers: from });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // another address with the real token is not held back
    expect((await api.call("GET", "/accounts", { headers: { "x-herald-client-ip": "192.0.2.8" } })).status).toBe(200);
  });
});

describe("bad input: a specific problem, nothing changes", { timeout: 60_000 }, () => {
  const cases: Array<{ what: string; method: string; path: string; body?: unknown; headers?: Record<string, string>; status: number; detail: RegExp }> = [
    { what: "not JSON", method: "POST", path: "/accounts", body: "{address:", status: 400, detail: /not JSON/ },
    { what: "wrong content type", method: "POST", path: "/accounts", body: "address=x", headers: { "content-type": "application/x-www-form-urlencoded" }, status: 415, detail: /application\/json/ },
    { what: "missing password", method: "POST", path: "/accounts", body: { address: "dave@example.test" }, status: 400, detail: /invalid request body/ },
    { what: "unknown member", method: "POST", path: "/accounts", body: { address: "dave@example.test", password: "Dave-pass1", display_name: "Dave" }, status: 400, detail: /invalid request body/ },
    { what: "malformed address", method: "POST", path: "/accounts", body: { address: "dave at example", password: "Dave-pass1" }, status: 400, detail: /malformed SIP address/ },
    { what: "weak password", method: "POST", path: "/accounts", body: { address: "dave@example.test", password: "short" }, status: 422, detail: /password/ },
    { what: "unknown domain", method: "POST", path: "/accounts", body: { address: "dave@nowhere.test", password: "Dave-pass1" }, status: 422, detail: /unknown domain/ },
    { what: "duplicate account", method: "POST", path: "/accounts", body: { address: "bob@example.test", password: "Bob-pass2x" }, status: 409, detail: /already exists/ },
    { what: "bad role", method: "POST", path: "/accounts", body: { address: "dave@example.test", password: "Dave-pass1", role: "root" }, status: 400, detail: /invalid request body/ },
    { what: "control character in a name", method: "POST", path: "/accounts", body: { address: "dave@example.test", password: "Dave-pass1", displayName: "Da\u0007ve" }, status: 422, detail: /control characters/ },
    { what: "PATCH: weak password with a role change (neither applied)", method: "PATCH", path: "/accounts/bob@example.test", body: { role: "admin", password: "short" }, status: 422, detail: /password/ },
    { what: "PATCH: disabled not a boolean", method: "PATCH", path: "/accounts/bob@example.test", body: { disabled: "yes" }, status: 400, detail: /invalid request body/ },
    { what: "PATCH: unknown account", method: "PATCH", path: "/accounts/nobody@example.test", body: { role: "admin" }, status: 404, detail: /no account/ },
    { what: "DELETE: unknown account", method: "DELETE", path: "/accounts/nobody@example.test", status: 404, detail: /no account/ },
    { what: "bad page", method: "GET", path: "/accounts?page=0", status: 400, detail: /invalid query/ },
    { what: "page size over the limit", method: "GET", path: "/accounts?pageSize=1000", status: 400, detail: /invalid query/ },
    { what: "unknown query parameter", method: "GET", path: "/accounts?q=x", status: 400, detail: /invalid query/ },
    { what: "malformed percent-encoding", method: "GET", path: "/accounts/%E0%A4%A", status: 400, detail: /percent-encoding/ },
    { what: "duplicate domain", method: "POST", path: "/domains", body: { name: "EXAMPLE.test" }, status: 409, detail: /already exists/ },
    { what: "malformed domain", method: "POST", path: "/domains", body: { name: "bad_domain!" }, status: 400, detail: /malformed domain/ },
    { what: "realm with a quote", method: "POST", path: "/domains", body: { name: "new.test", realm: 'a"b' }, status: 422, detail: /malformed realm/ },
    { what: "realm change with accounts", method: "PATCH", path: "/domains/example.test", body: { realm: "other" }, status: 409, detail: /cannot change/ },
    { what: "unknown domain", method: "PATCH", path: "/domains/nowhere.test", body: { enabled: false }, status: 404, detail: /no domain/ },
    { what: "no such resource", method: "GET", path: "/widgets", status: 404, detail: /no resource/ },
    { what: "method not allowed", method: "PUT", path: "/accounts", body: {}, status: 405, detail: /not allowed/ },
  ];
  for (const c of cases) {
    it(`${c.what}: ${c.status}`, async () => {
      const before = await snapshot();
      const r = await api.call(c.method, c.path, { body: c.body, headers: c.headers });
      expect(r.status).toBe(c.status);
      expect((r.body as { detail: string }).detail).toMatch(c.detail);
      if (c.status === 405) expect(r.headers.get("allow")).toBe("GET, POST");
      expect(await snapshot()).toEqual(before);
    });
  }

  it("a body over 64 KiB: 413, nothing changes", async () => {
    const before = await snapshot();
    const r = await api.call("POST", "/accounts", { body: { address: "dave@example.test", password: "Dave-pass1", displayName: "x".repeat(70_000) } });
    expect(r.status).toBe(413);
    expect(await snapshot()).toEqual(before);
  });
});

describe("deleting an account through the API ends its live sessions", { timeout: 60_000 }, () => {
  it("alice's page is closed with 4001 'deleted', bob's subscription to her ends (noresource), her documents are gone", async () => {
    const cookie = await login("alice@example.test", PASSWORDS.alice);
    const ws = new WebSocket(wsUrl, "sip", { headers: { cookie } });
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const bob = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user: "bob", domain: "example.test", password: PASSWORDS.bob });
    const { sub } = await bob.subscribe("sip:alice@example.test");
    expect(sub).toBeDefined();
    await t.db.xcapDocument.create({ data: { auid: "resource-lists", scope: "users", xui: "sip:alice@example.test", path: "index", content: "<x/>", etag: "e1" } });

    const r = await api.call("DELETE", "/accounts/alice@example.test");
    expect(r.status).toBe(204);
    expect(await closed).toEqual({ code: WsClose.SessionEnded, reason: "deleted" });
    const final = await bob.waitForNotify((n) => /terminated/.test(n.getHeader("Subscription-State") ?? ""), { sub });
    expect(final.getHeader("Subscription-State")).toMatch(/reason=noresource/);
    await bob.close();
    expect(await t.db.xcapDocument.count({ where: { xui: "sip:alice@example.test" } })).toBe(0);
    expect((await api.call("GET", "/accounts/alice@example.test")).status).toBe(404);
    const audit = await t.db.auditEvent.findFirst({ where: { action: "account.delete", target: "alice@example.test" } });
    expect(audit).toMatchObject({ actor: "token:provisioning" });
  });
});
