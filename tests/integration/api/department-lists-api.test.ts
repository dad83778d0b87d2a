/**
 * Department lists through the provisioning API (ISSUE-16 items 4 and 6) on real SQLite over HTTP:
 * create, read, replace (PUT creates too), add and remove members (PATCH), delete — every answer
 * checked against the OpenAPI document, every change audited as `token:<name>` with the client
 * address, and bad input a specific problem that changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { createApiToken } from "@/lib/accounts/api-tokens";
import { getDepartmentList } from "@/lib/accounts/department-lists";
import { listRoutes } from "@/lib/portal/api/list-routes";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";
import { serveTestApi, type TestApi } from "../../helpers/api-client";
import { testXcapHttp } from "../../helpers/test-xcap-http";

let t: TempDb;
let api: TestApi;

const IP = { "x-herald-client-ip": "198.51.100.7" };

beforeAll(async () => {
  t = await tempSqliteDb();
  await addDomain(t.db, "example.test");
  await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1" });
  const { token } = await createApiToken(t.db, "lists");
  api = await serveTestApi(t.db, { token, routes: listRoutes(t.db, { maxMembers: 3 }) });
});

afterAll(async () => {
  await api?.close();
  await t?.close();
});

describe("department lists API", { timeout: 60_000 }, () => {
  it("create, read, replace, add and remove members, delete — audited with the token and address", async () => {
    let r = await api.call("POST", "/lists", { body: { address: "Engineering@Example.TEST", displayName: " Engineering ", members: [{ address: "alice@example.test", displayName: "Alice" }, { address: "sip:bob@example.test" }] }, headers: IP });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ address: "engineering@example.test", displayName: "Engineering", members: [{ address: "alice@example.test", displayName: "Alice" }, { address: "bob@example.test", displayName: null }] });
    expect(r.headers.get("location")).toBe("/api/v1/lists/engineering%40example.test");
    r = await api.call("GET", "/lists/engineering%40example.test");
    expect(r.status).toBe(200);
    r = await api.call("PATCH", "/lists/engineering@example.test", { body: { add: [{ address: "carol@far.example" }], remove: ["alice@example.test"], displayName: null }, headers: IP });
    expect(r.body).toEqual({ address: "engineering@example.test", displayName: null, members: [{ address: "bob@example.test", displayName: null }, { address: "carol@far.example", displayName: null }] });
    r = await api.call("PUT", "/lists/engineering@example.test", { body: { displayName: "Eng", members: [{ address: "dave@example.test" }] }, headers: IP });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ displayName: "Eng", members: [{ address: "dave@example.test", displayName: null }] });
    r = await api.call("PUT", "/lists/sales@example.test", { body: { members: [] }, headers: IP });
    expect(r.status).toBe(201);
    r = await api.call("GET", "/lists?domain=example.test");
    expect((r.body as { items: Array<{ address: string }> }).items.map((l) => l.address)).toEqual(["engineering@example.test", "sales@example.test"]);
    r = await api.call("DELETE", "/lists/sales@example.test", { headers: IP });
    expect(r.status).toBe(204);
    expect((await api.call("GET", "/lists/sales@example.test")).status).toBe(404);
    const audit = await t.db.auditEvent.findMany({ where: { action: { startsWith: "list." } }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.action, a.target, a.detail])).toEqual([
      ["list.add", "engineering@example.test", "members=2"],
      ["list.edit", "engineering@example.test", "members=2 added=1 removed=1 name="],
      ["list.edit", "engineering@example.test", "members=1 added=1 removed=2 name=Eng"],
      ["list.add", "sales@example.test", "members=0"],
      ["list.delete", "sales@example.test", null],
    ]);
    for (const a of audit) expect(a).toMatchObject({ actor: "token:lists", ip: "198.51.100.7" });
  });

  it("bad input is a specific problem and changes nothing", async () => {
    const before = await getDepartmentList(t.db, "engineering@example.test");
    const auditBefore = await t.db.auditEvent.count();
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ["POST", "/lists", { address: "alice@example.test" }, 409, /is an account/],
      ["POST", "/lists", { address: "alice+team@example.test" }, 409, /derived from the account alice@example.test/],
      ["POST", "/lists", { address: "engineering@example.test" }, 409, /already exists/],
      ["POST", "/lists", { address: "team@nowhere.test" }, 422, /unknown domain/],
      ["POST", "/lists", { address: "not an address" }, 400, /malformed/],
      ["POST", "/lists", { address: "team@example.test", members: [{ address: "x@example.test" }, { address: "X@example.test" }] }, 422, /listed twice/],
      ["POST", "/lists", { address: "team@example.test", members: [{ address: "team@example.test" }] }, 422, /cannot contain itself/],
      ["POST", "/lists", { address: "team@example.test", members: ["a", "b", "c", "d"].map((u) => ({ address: `${u}@example.test` })) }, 422, /at most 3 members/],
      ["POST", "/lists", { address: "team@example.test", extra: 1 }, 400, /invalid request body/],
      ["PATCH", "/lists/engineering@example.test", { add: [{ address: "ok@example.test" }], remove: ["nobody@example.test"] }, 422, /not a member/],
      ["PATCH", "/lists/engineering@example.test", { add: [{ address: "dave@example.test" }] }, 422, /listed twice/],
      ["PATCH", "/lists/engineering@example.test", { add: [{ address: "bad address" }] }, 400, /member 2: malformed/],
      ["PATCH", "/lists/engineering@example.test", { displayName: "bad\u0007name" }, 422, /control characters/],
      ["PATCH", "/lists/nothing@example.test", { displayName: "x" }, 404, /no department list/],
      ["PUT", "/lists/engineering@example.test", { displayName: "x" }, 400, /invalid request body/],
    ];
    for (const [method, p, body, status, detail] of cases) {
      const r = await api.call(method, p, { body });
      expect(r.status, `${method} ${p} ${JSON.stringify(body)}`).toBe(status);
      expect((r.body as { detail: string }).detail).toMatch(detail);
    }
    expect((await api.call("GET", "/lists", { token: null })).status).toBe(401);
    expect(await getDepartmentList(t.db, "engineering@example.test")).toEqual(before);
    expect(await t.db.departmentList.count()).toBe(1);
    expect(await t.db.auditEvent.count()).toBe(auditBefore);
  });

  it("a user's rls-services cannot claim a department list's address (RFC 4826 §4.4.7: 409 uniqueness-failure)", async () => {
    const x = testXcapHttp(t.db);
    const doc = (uri: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="${uri}"><list/><packages><package>presence</package></packages></service></rls-services>`;
    const put = (uri: string) =>
      x.handleAs(new Request("http://xcap.test/xcap-root/rls-services/users/sip:alice@example.test/index", { method: "PUT", body: doc(uri), headers: { "content-type": "application/rls-services+xml" } }), "alice@example.test");
    const refused = await put("sip:engineering@example.test");
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("uniqueness-failure");
    expect((await put("sip:alice+presence@example.test")).status).toBe(201);
  });

  it("the OpenAPI document has the lists routes and every one was exercised with its success status", () => {
    const paths = Object.keys(api.api.openApi.paths);
    expect(paths).toEqual(expect.arrayContaining(["/api/v1/lists", "/api/v1/lists/{address}"]));
    for (const rt of api.api.routes.filter((x) => x.tag === "lists")) {
      const ok = Object.keys(rt.responses).map(Number).find((s) => s < 300);
      expect(api.seen, `${rt.method} ${rt.path} ${ok}`).toContain(`${rt.method} ${rt.path} ${ok}`);
    }
  });
});
