/**
 * The provisioning API's resources (ISSUE-16 item 6) over HTTP on real SQLite, with a token made
 * by the CLI in its own process: accounts (search and paging, create, read, change, delete) and
 * domains; every change in the audit log as `token:<name>` with the client address; every answer
 * checked against the published OpenAPI document, and every documented operation exercised.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain, checkLogin } from "@/lib/accounts/service";
import { API_BASE_PATH } from "@/lib/portal/api/provisioning-api";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";
import { serveTestApi, type TestApi } from "../../helpers/api-client";

const ROOT = path.resolve(import.meta.dirname, "..", "..", "..");
const run = promisify(execFile);

let t: TempDb;
let api: TestApi;
let token: string;

async function cli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ["--import", "tsx", path.join(ROOT, "lib/cli/main.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: t.url, HERALD_DATA_DIR: t.dir },
    timeout: 60_000,
  });
}

const IP = { "x-herald-client-ip": "198.51.100.4" };

beforeAll(async () => {
  t = await tempSqliteDb();
  await addDomain(t.db, "example.test");
  await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1", displayName: "Alice Liddell" });
  const made = await cli("tokens", "create", "--name", "provisioning");
  token = made.stdout.trim();
  expect(token).toMatch(/^herald_[A-Za-z0-9_-]{43}$/);
  expect(made.stderr).toMatch(/shown only now/);
  api = await serveTestApi(t.db, { token });
});

afterAll(async () => {
  await api?.close();
  await t?.close();
});

describe("provisioning API", { timeout: 120_000 }, () => {
  it("tokens: list shows name and prefix, never the token; a revoked token is refused", async () => {
    const second = (await cli("tokens", "create", "--name", "short-lived")).stdout.trim();
    const list = (await cli("tokens", "list")).stdout;
    expect(list).toMatch(/^provisioning\therald_\S{6}…\tactive/m);
    expect(list).not.toContain(token);
    expect(list).not.toContain(second);
    expect((await api.call("GET", "/domains", { token: second })).status).toBe(200);
    expect((await cli("tokens", "revoke", "short-lived")).stdout).toMatch(/revoked/);
    expect((await api.call("GET", "/domains", { token: second })).status).toBe(401);
    expect((await cli("tokens", "list")).stdout).toMatch(/^short-lived\t\S+\trevoked /m);
    await expect(cli("tokens", "create", "--name", "provisioning")).rejects.toThrow(/exists/);
    await expect(cli("tokens", "revoke", "nope")).rejects.toThrow(/no token named/);
    const audit = await t.db.auditEvent.findMany({ where: { action: { startsWith: "token." } }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.actor, a.action, a.target])).toEqual([
      ["cli", "token.create", "token:provisioning"],
      ["cli", "token.create", "token:short-lived"],
      ["cli", "token.revoke", "token:short-lived"],
    ]);
  });

  it("the OpenAPI document is public and lists exactly the routes the handler serves", async () => {
    const r = await fetch(`${api.url}${API_BASE_PATH}/openapi.json`);
    expect(r.status).toBe(200);
    const doc = (await r.json()) as { openapi: string; paths: Record<string, Record<string, { operationId: string }>> };
    expect(doc.openapi).toBe("3.1.0");
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    const served = api.api.routes.map((rt) => `${rt.method} ${API_BASE_PATH}${rt.path}`).sort();
    expect(documented).toEqual(served);
    expect(new Set(Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId))).size).toBe(served.length);
  });

  it("accounts: create, read, change, search with paging, delete — each change audited with the token and address", async () => {
    let r = await api.call("POST", "/accounts", { body: { address: "Bob@Example.TEST", password: "Bob-pass1", displayName: "  Bob  ", role: "user" }, headers: IP });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ address: "Bob@example.test", displayName: "Bob", role: "user", disabled: false });
    expect(r.headers.get("location")).toBe("/api/v1/accounts/Bob%40example.test");

    r = await api.call("GET", "/accounts/Bob%40example.test");
    expect(r.status).toBe(200);
    r = await api.call("PATCH", "/accounts/Bob@example.test", { body: { displayName: "Robert", role: "admin", password: "Robert-pass2", disabled: true }, headers: IP });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ address: "Bob@example.test", displayName: "Robert", role: "admin", disabled: true });
    expect((await checkLogin(t.db, "Bob@example.test", "Robert-pass2")).ok).toBe(false); // disabled
    r = await api.call("PATCH", "/accounts/Bob@example.test", { body: { disabled: false, displayName: null }, headers: IP });
    expect(r.body).toMatchObject({ displayName: null, disabled: false });
    expect((await checkLogin(t.db, "Bob@example.test", "Robert-pass2")).ok).toBe(true);

    for (let i = 0; i < 7; i++) expect((await api.call("POST", "/accounts", { body: { address: `user${i}@example.test`, password: `User-pass${i}` } })).status).toBe(201);
    r = await api.call("GET", "/accounts?query=USER&page=2&pageSize=3");
    expect(r.body).toEqual({
      items: ["user3", "user4", "user5"].map((u) => ({ address: `${u}@example.test`, displayName: null, role: "user", disabled: false })),
      page: 2,
      pageSize: 3,
      total: 7,
    });
    r = await api.call("GET", "/accounts?query=Liddell");
    expect((r.body as { items: { address: string }[] }).items.map((a) => a.address)).toEqual(["alice@example.test"]);
    r = await api.call("GET", "/accounts");
    expect(r.body).toMatchObject({ page: 1, pageSize: 50, total: 9 });

    r = await api.call("DELETE", "/accounts/Bob@example.test", { headers: IP });
    expect(r.status).toBe(204);
    expect(r.text).toBe("");
    expect((await api.call("GET", "/accounts/Bob@example.test")).status).toBe(404);

    const audit = await t.db.auditEvent.findMany({ where: { target: "Bob@example.test" }, orderBy: { id: "asc" } });
    expect(audit.map((a) => a.action)).toEqual([
      "account.add",
      "account.name",
      "account.role",
      "account.passwd",
      "account.disable",
      "account.name",
      "account.enable",
      "account.delete",
    ]);
    for (const a of audit) expect(a).toMatchObject({ actor: "token:provisioning", ip: "198.51.100.4" });
  });

  it("domains: add with a realm, change the realm while empty, disable and enable", async () => {
    let r = await api.call("POST", "/domains", { body: { name: "Other.Test", realm: "Other Realm" } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ name: "other.test", realm: "Other Realm", enabled: true, accounts: 0 });
    expect(r.headers.get("location")).toBe("/api/v1/domains/other.test");
    r = await api.call("PATCH", "/domains/other.test", { body: { realm: "other.test" } });
    expect(r.body).toMatchObject({ realm: "other.test" });
    r = await api.call("PATCH", "/domains/other.test", { body: { enabled: false } });
    expect(r.body).toMatchObject({ enabled: false });
    r = await api.call("GET", "/domains/other.test");
    expect(r.body).toMatchObject({ enabled: false });
    r = await api.call("GET", "/domains");
    expect((r.body as { items: unknown[] }).items).toEqual([
      { name: "example.test", realm: "example.test", enabled: true, accounts: 8 },
      { name: "other.test", realm: "other.test", enabled: false, accounts: 0 },
    ]);
    r = await api.call("PATCH", "/domains/other.test", { body: { enabled: true } });
    expect(r.body).toMatchObject({ enabled: true });
    const audit = await t.db.auditEvent.findMany({ where: { target: "other.test" }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.action, a.detail])).toEqual([
      ["domain.add", "realm=Other Realm"],
      ["domain.edit", "realm=other.test"],
      ["domain.disable", "enabled=false"],
      ["domain.enable", "enabled=true"],
    ]);
  });

  it("every documented operation was exercised with its success status", () => {
    for (const rt of api.api.routes) {
      const ok = Object.keys(rt.responses).map(Number).find((s) => s < 300);
      expect(api.seen, `${rt.method} ${rt.path} ${ok}`).toContain(`${rt.method} ${rt.path} ${ok}`);
    }
  });
});
