/**
 * The provisioning API's virtual presentities behind the same door as the rest of it: no token,
 * a user's (or an admin's) portal session cookie, an unknown or a revoked token are 401 problems
 * on every presentity operation, reads included, and nothing changes (no row, no XCAP document,
 * no audit line).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { createApiToken, revokeApiToken } from "@/lib/accounts/api-tokens";
import { AuthLimiter } from "@/lib/accounts/auth-limiter";
import { createVirtualPresentities } from "@/lib/accounts/virtual-presentities";
import { loadConfig, type HeraldConfig } from "@/lib/config";
import { sessionAorOfUpgrade } from "@/lib/portal/bridge-auth";
import { presentityRoutes } from "@/lib/portal/api/presentity-routes";
import { xcapPresentityDocuments } from "@/lib/portal/virtual-presentities";
import { serveTestApi, type TestApi } from "../helpers/api-client";
import { portalSessionCookie } from "../helpers/portal-login";
import { tempSqliteDb, type TempDb } from "../helpers/temp-db";
import { testXcapHttp } from "../helpers/test-xcap-http";

let t: TempDb;
let cfg: HeraldConfig;
let api: TestApi;

const PASSWORDS: Record<string, string> = { alice: "Alice-pass1", admin: "Admin-pass1" };
const PIDF = `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:news@example.test"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`;

/** Every presentity operation, reads and changes, on an existing one and a new one. */
const OPERATIONS: Array<[string, string, unknown, Record<string, string>?]> = [
  ["GET", "/presentities", undefined],
  ["GET", "/presentities/weather@example.test", undefined],
  ["PUT", "/presentities/weather@example.test/presence", { availability: "busy", note: "hacked" }],
  ["PUT", "/presentities/news@example.test/presence", { availability: "available" }],
  ["PUT", "/presentities/news@example.test/presence", PIDF, { "content-type": "application/pidf+xml" }],
  ["PATCH", "/presentities/weather@example.test", { watchers: { domains: ["evil.test"], addresses: [] } }],
  ["DELETE", "/presentities/weather@example.test", undefined],
];

beforeAll(async () => {
  t = await tempSqliteDb();
  cfg = loadConfig({ HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-vp-sec-")), DATABASE_URL: t.url });
  (globalThis as { __heraldConfig?: unknown }).__heraldConfig = cfg;
  await addDomain(t.db, "example.test");
  for (const [u, pw] of Object.entries(PASSWORDS)) await addAccount(t.db, { address: `${u}@example.test`, password: pw, role: u === "admin" ? "admin" : "user" });
  const xcap = testXcapHttp(t.db);
  const presentities = createVirtualPresentities({ db: t.db, documents: xcapPresentityDocuments({ root: "http://localhost/xcap-root", handleAs: (req, a) => xcap.handleAs(req, a) }) });
  // allowances above the 7 unknown-token guesses below (the limiter itself is tested in provisioning-api.test.ts)
  const limiter = new AuthLimiter({ perAccountAddress: 50, perAddress: 50, perAccount: 50 });
  api = await serveTestApi(t.db, { token: (await createApiToken(t.db, "ops")).token, routes: presentityRoutes(presentities), limiter });
  expect((await api.call("PUT", "/presentities/weather@example.test/presence", { body: { availability: "available", note: "Sunny" } })).status).toBe(201);
});

afterAll(async () => {
  await api?.close();
  await t?.close();
});

async function snapshot() {
  return {
    rows: await t.db.virtualPresentity.findMany({ orderBy: { id: "asc" } }),
    docs: await t.db.xcapDocument.findMany({ orderBy: { id: "asc" }, select: { xui: true, auid: true, etag: true } }),
    audit: await t.db.auditEvent.count({ where: { NOT: { action: { startsWith: "login" } } } }),
  };
}

async function allRefused(token: string | null, headers: Record<string, string> = {}, detail?: string) {
  for (const [method, p, body, extra] of OPERATIONS) {
    const r = await api.call(method, p, { token, body, headers: { ...headers, ...extra } });
    expect(r.status, `${method} ${p}`).toBe(401);
    expect(r.headers.get("www-authenticate")).toMatch(/^Bearer realm="herald-api"/);
    if (detail) expect(r.body).toMatchObject({ detail });
    expect(JSON.stringify(r.body)).not.toContain("Sunny");
  }
}

describe("virtual presentities: who may use the API", { timeout: 60_000 }, () => {
  it("no token: 401 for every read and change; nothing changes", async () => {
    const before = await snapshot();
    await allRefused(null);
    expect(await snapshot()).toEqual(before);
  });

  it("a user's session cookie — and an admin's — is no credential: 401, nothing changes", async () => {
    const before = await snapshot();
    for (const who of ["alice", "admin"]) {
      const cookie = await portalSessionCookie(`${who}@example.test`, PASSWORDS[who], cfg.authSecret);
      expect(await sessionAorOfUpgrade({ headers: { cookie } } as never)).toEqual({ aor: `${who}@example.test` }); // a live session
      await allRefused(null, { cookie });
    }
    expect(await snapshot()).toEqual(before);
  });

  it("an unknown and a revoked token: 401, nothing changes", async () => {
    const before = await snapshot();
    await allRefused("herald_" + "C".repeat(43), {}, "unknown token");
    const { token } = await createApiToken(t.db, "doomed");
    expect((await api.call("GET", "/presentities", { token })).status).toBe(200);
    await revokeApiToken(t.db, "doomed");
    const mid = await snapshot();
    await allRefused(token, {}, "the token was revoked");
    expect(await snapshot()).toEqual(mid);
    expect(mid.rows).toEqual(before.rows);
  });
});
