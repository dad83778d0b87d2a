/**
 * Virtual presentities (ISSUE-16 item 3) through the provisioning API, watched over real SIP
 * from the embedded server: created by the first `PUT …/presence`, watchable by SUBSCRIBE
 * directly and as a buddy-list (RLS) member exactly like a user, every update in a NOTIFY; its
 * watchers by its pres-rules (default: every user of its domain); deleted → its watchers get
 * `terminated;reason=noresource`; kept across a restart. Bad input is a specific problem and
 * changes nothing.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { EventEmitter } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { importAccounts } from "@/lib/accounts/csv-import";
import { createDepartmentList } from "@/lib/accounts/department-lists";
import { createApiToken } from "@/lib/accounts/api-tokens";
import { createVirtualPresentities, presentityRemovals } from "@/lib/accounts/virtual-presentities";
import { loadConfig, type HeraldConfig } from "@/lib/config";
import { presentityRoutes } from "@/lib/portal/api/presentity-routes";
import { xcapPresentityDocuments } from "@/lib/portal/virtual-presentities";
import { parsePidf, summarizePresence } from "@/lib/presence";
import { startEmbeddedSipServer, type RunningSipServer } from "@/lib/server/main";
import type { SipRequest } from "@/lib/sip";
import { PrismaXcapStore } from "@/lib/storage/xcap-prisma-store";
import { XcapClient } from "@/lib/xcap/client";
import type { XcapChangeEvent } from "@/lib/xcap/server";
import { serveTestApi, type TestApi } from "../../helpers/api-client";
import { SipTestClient } from "../../helpers/sip-client";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";
import { testXcapHttp } from "../../helpers/test-xcap-http";
import { waitFor } from "../../helpers/wait";
import { instances, LIST_HEADERS, parseListNotify } from "../server/rls-harness";

const WEATHER = "weather@example.test";
const ROOT = "http://localhost/xcap-root";
const PASSWORDS: Record<string, string> = { "alice@example.test": "Alice-pass1", "bob@example.test": "Bob-pass1", "carol@other.test": "Carol-pass1" };

let t: TempDb;
let cfg: HeraldConfig;
let api: TestApi;
let sip: RunningSipServer;
const bus = new EventEmitter();
const xcap = () => testXcapHttp(t.db, { onChange: (e) => bus.emit("change", e) });
let xcapHttp: ReturnType<typeof testXcapHttp>;
let unsubscribeRemovals: () => void;
const clients: SipTestClient[] = [];

async function startSip(): Promise<RunningSipServer> {
  return startEmbeddedSipServer(cfg, t.db, {
    store: new PrismaXcapStore(t.db),
    subscribe: (l: (e: XcapChangeEvent) => void) => {
      bus.on("change", l);
      return () => bus.off("change", l);
    },
  });
}

beforeAll(async () => {
  t = await tempSqliteDb();
  cfg = loadConfig({ HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-vp-")), DATABASE_URL: t.url, SIP_HOST: "127.0.0.1", SIP_PORT: "0", SIP_NOTIFY_INTERVAL_MS: "0" });
  await addDomain(t.db, "example.test");
  await addDomain(t.db, "other.test");
  for (const [address, password] of Object.entries(PASSWORDS)) await addAccount(t.db, { address, password });
  xcapHttp = xcap();
  const presentities = createVirtualPresentities({
    db: t.db,
    documents: xcapPresentityDocuments({ root: ROOT, handleAs: (req, address) => xcapHttp.handleAs(req, address) }),
    onDeleted: (address) => presentityRemovals().emit(address),
    maxPresentities: 5,
  });
  sip = await startSip();
  // as lib/cli/start.ts wires it
  unsubscribeRemovals = presentityRemovals().subscribe((address) => sip.server.dropAccount(`sip:${address}`, { deleted: true }));
  api = await serveTestApi(t.db, { token: (await createApiToken(t.db, "ops")).token, routes: presentityRoutes(presentities) });
});

afterAll(async () => {
  for (const c of clients) await c.close();
  unsubscribeRemovals?.();
  await sip?.stop();
  await api?.close();
  await t?.close();
});

async function client(address: string): Promise<SipTestClient> {
  const [user, domain] = address.split("@");
  const c = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user, domain, password: PASSWORDS[address] });
  clients.push(c);
  return c;
}

const summary = (n: SipRequest) => summarizePresence(parsePidf(n.bodyText));
const noteIs = (text: string) => (n: SipRequest) => n.body.length > 0 && summary(n).note === text;

describe("virtual presentities through the API", { timeout: 60_000 }, () => {
  it("the first PUT creates it (201, Location) watchable by its domain; the next changes it (200); GET and the list show it; audited", async () => {
    let r = await api.call("PUT", `/presentities/${WEATHER}/presence`, { body: { availability: "available", note: "Sunny, 21 °C" } });
    expect(r.status).toBe(201);
    expect(r.headers.get("location")).toBe("/api/v1/presentities/weather%40example.test");
    expect(r.body).toMatchObject({ address: WEATHER, availability: "available", note: "Sunny, 21 °C", watchers: { domains: ["example.test"], addresses: [] } });
    r = await api.call("PUT", `/presentities/sip:Weather@Example.test/presence`, { body: { availability: "away", note: "Clouds", activities: ["vacation"] } });
    expect(r.status).toBe(200);
    expect((await api.call("GET", `/presentities/${WEATHER}`)).body).toMatchObject({ availability: "away", note: "Clouds" });
    expect((await api.call("GET", "/presentities")).body).toMatchObject({ items: [{ address: WEATHER }] });
    const audit = await t.db.auditEvent.findMany({ where: { target: WEATHER }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ["presentity.add", "token:ops"],
      ["presentity.presence", "token:ops"],
      ["presentity.presence", "token:ops"],
    ]);
  });

  it("a user of its domain watches it by SUBSCRIBE like a user; every API update reaches them in a NOTIFY", async () => {
    const bob = await client("bob@example.test");
    const { response, sub } = await bob.subscribe(`sip:${WEATHER}`);
    expect(response.status).toBe(200);
    const first = await bob.waitForNotify(noteIs("Clouds"), { sub });
    expect(first.getHeader("Subscription-State")).toMatch(/^active/);
    expect(summary(first).availability).toBe("away");
    const from = bob.notifies(sub).length;
    const started = Date.now();
    await api.call("PUT", `/presentities/${WEATHER}/presence`, { body: { availability: "busy", note: "Storm warning" } });
    const n = await bob.waitForNotify(noteIs("Storm warning"), { sub, from });
    expect(summary(n).availability).toBe("busy");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("a raw PIDF body (application/pidf+xml) is its presence as it is", async () => {
    const bob = await client("bob@example.test");
    const { sub } = await bob.subscribe(`sip:${WEATHER}`);
    await bob.waitForNotify((n) => n.body.length > 0, { sub });
    const from = bob.notifies(sub).length;
    const doc = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:${WEATHER}"><tuple id="station"><status><basic>open</basic></status><note>Raw: fog</note></tuple></presence>`;
    const r = await api.call("PUT", `/presentities/${WEATHER}/presence`, { body: doc, headers: { "content-type": "application/pidf+xml" } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ availability: "available", note: "Raw: fog" });
    const n = await bob.waitForNotify(noteIs("Raw: fog"), { sub, from });
    expect(parsePidf(n.bodyText).tuples.map((x) => x.id)).toEqual(["station"]);
  });

  it("a member of a user's buddy list (RLS): the list NOTIFY carries its presence, and later updates", async () => {
    const list = `<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists">
  <service uri="sip:alice+presence@example.test"><list><rl:entry uri="sip:${WEATHER}"/></list><packages><package>presence</package></packages></service>
</rls-services>`;
    const alicesXcap = new XcapClient({ root: ROOT, xui: "sip:alice@example.test", fetch: (u, i) => xcapHttp.handleAs(new Request(u, i), "alice@example.test") });
    await alicesXcap.putDocument("rls-services", "index", list);
    const alice = await client("alice@example.test");
    const { response, sub } = await alice.subscribe("sip:alice+presence@example.test", { headers: LIST_HEADERS });
    expect(response.status).toBe(200);
    const weatherIn = (n: SipRequest) => ((n.getHeader("Content-Type") ?? "").startsWith("multipart/related") ? instances(parseListNotify(n)).get(`sip:${WEATHER}`) : undefined);
    const first = await alice.waitForNotify((n) => weatherIn(n)?.state === "active" && /Raw: fog/.test(weatherIn(n)?.pidf ?? ""), { sub });
    expect(first).toBeDefined();
    const from = alice.notifies(sub).length;
    await api.call("PUT", `/presentities/${WEATHER}/presence`, { body: { availability: "extended-away", note: "Snow" } });
    const n = await alice.waitForNotify((x) => /Snow/.test(weatherIn(x)?.pidf ?? ""), { sub, from });
    expect(summarizePresence(parsePidf(weatherIn(n)!.pidf!)).availability).toBe("extended-away");
  });

  it("its address cannot be claimed as a resource list's service URI (XCAP 409 uniqueness-failure)", async () => {
    const claim = `<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists">
  <service uri="sip:${WEATHER}"><list><rl:entry uri="sip:bob@example.test"/></list><packages><package>presence</package></packages></service>
</rls-services>`;
    const bobsXcap = new XcapClient({ root: ROOT, xui: "sip:bob@example.test", fetch: (u, i) => xcapHttp.handleAs(new Request(u, i), "bob@example.test") });
    await expect(bobsXcap.putDocument("rls-services", "index", claim)).rejects.toMatchObject({ status: 409, condition: { name: "uniqueness-failure" } });
  });

  it("users of other domains are refused (403) until its watchers include them; taking them out ends their subscription", async () => {
    const carol = await client("carol@other.test");
    expect((await carol.subscribe(`sip:${WEATHER}`)).response.status).toBe(403);
    let r = await api.call("PATCH", `/presentities/${WEATHER}`, { body: { watchers: { domains: ["example.test"], addresses: ["sip:carol@other.test"] } } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ watchers: { domains: ["example.test"], addresses: ["carol@other.test"] } });
    const { response, sub } = await carol.subscribe(`sip:${WEATHER}`);
    expect(response.status).toBe(200);
    await carol.waitForNotify(noteIs("Snow"), { sub });
    r = await api.call("PATCH", `/presentities/${WEATHER}`, { body: { watchers: { domains: ["example.test"], addresses: [] } } });
    expect(r.status).toBe(200);
    const end = await carol.waitForNotify((n) => /^terminated/.test(n.getHeader("Subscription-State") ?? ""), { sub });
    expect(end.getHeader("Subscription-State")).toMatch(/reason=rejected/);
  });

  it("survives a restart: a new server serves its presence from the database", async () => {
    await sip.stop();
    sip = await startSip();
    const bob = await client("bob@example.test");
    const { response, sub } = await bob.subscribe(`sip:${WEATHER}`);
    expect(response.status).toBe(200);
    expect(summary(await bob.waitForNotify(noteIs("Snow"), { sub })).availability).toBe("extended-away");
  });
});

describe("what may not be a virtual presentity, and bad input", { timeout: 60_000 }, () => {
  /** Everything a refused request could have changed. */
  const snapshot = async () => ({
    rows: await t.db.virtualPresentity.findMany({ orderBy: { id: "asc" } }),
    docs: await t.db.xcapDocument.findMany({ where: { xui: { startsWith: "sip:weather" } }, orderBy: { id: "asc" }, select: { auid: true, etag: true } }),
    audit: await t.db.auditEvent.count(),
  });
  const problem = (r: { body: unknown }) => r.body as { type: string; detail: string; errors?: Array<{ pointer: string }> };

  it("refuses malformed bodies with a specific problem and changes nothing", async () => {
    const before = await snapshot();
    const put = (body: unknown, headers?: Record<string, string>) => api.call("PUT", `/presentities/${WEATHER}/presence`, { body, headers });
    let r = await put("{");
    expect([r.status, problem(r).detail]).toEqual([400, expect.stringMatching(/^body is not JSON/)]);
    r = await put({ availability: "sleepy" });
    expect(r.status).toBe(400);
    expect(problem(r).errors?.[0].pointer).toBe("/availability");
    r = await put({ availability: "away", mood: "grumpy" });
    expect(r.status).toBe(400);
    r = await put({ availability: "away", activities: ["Not A Token"] });
    expect([r.status, problem(r).detail]).toEqual([422, expect.stringMatching(/not an RPID activity/)]);
    r = await put({ availability: "away", note: "x".repeat(201) });
    expect([r.status, problem(r).detail]).toEqual([422, expect.stringMatching(/at most 200/)]);
    r = await put("<presence", { "content-type": "application/pidf+xml" });
    expect([r.status, problem(r).detail]).toEqual([400, expect.stringMatching(/^not a PIDF document/)]);
    r = await put(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:someone@example.test"/>`, { "content-type": "application/pidf+xml" });
    expect([r.status, problem(r).detail]).toEqual([400, expect.stringMatching(/is not sip:weather@example\.test/)]);
    r = await put(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`, { "content-type": "application/pidf+xml" });
    expect(r.status).toBe(400);
    // the XCAP usage refuses duplicate tuple ids (RFC 3863 xs:ID)
    r = await put(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:${WEATHER}"><tuple id="a"><status><basic>open</basic></status></tuple><tuple id="a"><status><basic>open</basic></status></tuple></presence>`, { "content-type": "application/pidf+xml" });
    expect([r.status, problem(r).detail]).toEqual([400, expect.stringMatching(/refused/)]);
    r = await put("availability=away", { "content-type": "text/plain" });
    expect([r.status, problem(r).detail]).toEqual([415, "send application/json or application/pidf+xml (got text/plain)"]);
    r = await api.call("PATCH", `/presentities/${WEATHER}`, { body: { watchers: { domains: ["not a domain"], addresses: [] } } });
    expect(r.status).toBe(422);
    r = await api.call("PATCH", `/presentities/${WEATHER}`, { body: { watchers: { domains: [], addresses: ["nobody"] } } });
    expect(r.status).toBe(422);
    expect(await snapshot()).toEqual(before);
  });

  it("an account's address, one derived from an account, an unknown domain: refused, nothing made; unknown ones are 404", async () => {
    const before = await snapshot();
    const set = (address: string) => api.call("PUT", `/presentities/${address}/presence`, { body: { availability: "available" } });
    expect([(await set("alice@example.test")).status, problem(await set("alice@example.test")).detail]).toEqual([409, "alice@example.test is an account"]);
    expect((await set("alice+presence@example.test")).status).toBe(409);
    expect((await set("news@nowhere.test")).status).toBe(422);
    expect((await set("not-an-address")).status).toBe(400);
    expect((await api.call("GET", "/presentities/news@example.test")).status).toBe(404);
    expect((await api.call("PATCH", "/presentities/news@example.test", { body: { watchers: { domains: [], addresses: [] } } })).status).toBe(404);
    expect((await api.call("DELETE", "/presentities/news@example.test")).status).toBe(404);
    expect(await snapshot()).toEqual(before);
    // and no account can be made on a virtual presentity's address
    await expect(addAccount(t.db, { address: WEATHER, password: "Weather-pass1" })).rejects.toThrow(/is a virtual presentity/);
    const report = await importAccounts(t.db, `address,password\n${WEATHER},Weather-pass1\n`, { dryRun: true });
    expect(report.rows[0]).toMatchObject({ outcome: "error", message: `${WEATHER} is a virtual presentity` });
  });

  it("a department list and a virtual presentity never share an address", async () => {
    await createDepartmentList(t.db, { address: "engineering@example.test" });
    const r = await api.call("PUT", "/presentities/engineering@example.test/presence", { body: { availability: "available" } });
    expect([r.status, problem(r).detail]).toEqual([409, "engineering@example.test is a department list"]);
    await expect(createDepartmentList(t.db, { address: WEATHER })).rejects.toThrow(/is a virtual presentity/);
  });

  it("at most VIRTUAL_PRESENTITIES_MAX of them (422)", async () => {
    for (const n of [1, 2, 3, 4]) expect((await api.call("PUT", `/presentities/feed${n}@example.test/presence`, { body: { availability: "available" } })).status).toBe(201);
    const r = await api.call("PUT", "/presentities/feed5@example.test/presence", { body: { availability: "available" } });
    expect([r.status, problem(r).detail]).toEqual([422, "at most 5 virtual presentities (VIRTUAL_PRESENTITIES_MAX)"]);
    for (const n of [1, 2, 3, 4]) expect((await api.call("DELETE", `/presentities/feed${n}@example.test`)).status).toBe(204);
  });
});

describe("deleting a virtual presentity", { timeout: 60_000 }, () => {
  it("ends its watchers' subscriptions (noresource), a new SUBSCRIBE is 404, its documents and row are gone", async () => {
    const bob = await client("bob@example.test");
    const { sub } = await bob.subscribe(`sip:${WEATHER}`);
    await bob.waitForNotify((n) => n.body.length > 0, { sub });
    expect((await api.call("DELETE", `/presentities/${WEATHER}`)).status).toBe(204);
    const end = await bob.waitForNotify((n) => /^terminated/.test(n.getHeader("Subscription-State") ?? ""), { sub });
    expect(end.getHeader("Subscription-State")).toMatch(/reason=noresource/);
    await waitFor(async () => (await bob.subscribe(`sip:${WEATHER}`)).response.status === 404, { what: "404 for the deleted presentity" });
    expect((await api.call("GET", `/presentities/${WEATHER}`)).status).toBe(404);
    expect(await t.db.xcapDocument.count({ where: { xui: `sip:${WEATHER}` } })).toBe(0);
    expect((await t.db.auditEvent.findFirst({ where: { target: WEATHER }, orderBy: { id: "desc" } }))?.action).toBe("presentity.delete");
  });

  it("every presentity operation is in the OpenAPI document", () => {
    const ops = Object.values(api.api.openApi.paths as Record<string, Record<string, { operationId: string }>>).flatMap((p) => Object.values(p).map((o) => o.operationId));
    expect(ops).toEqual(expect.arrayContaining(["listPresentities", "getPresentity", "setPresentityPresence", "updatePresentity", "deletePresentity"]));
    const put = (api.api.openApi.paths as Record<string, Record<string, { requestBody: { content: Record<string, unknown> } }>>)["/api/v1/presentities/{address}/presence"].put;
    expect(Object.keys(put.requestBody.content)).toEqual(["application/json", "application/pidf+xml"]);
    // and each was exercised here with its success status (checked against the document by api.call)
    for (const rt of api.api.routes.filter((r) => r.tag === "presentities")) {
      const ok = Object.keys(rt.responses).map(Number).find((s) => s < 300);
      expect(api.seen).toContain(`${rt.method} ${rt.path} ${ok}`);
    }
  });
});
