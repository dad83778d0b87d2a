/**
 * PrismaXcapStore under concurrent writes on SQLite and PostgreSQL (issue 13: on PostgreSQL the
 * compare-and-set and the quota's usage query run on the adapter's pg pool, not through Prisma):
 * the per-user quotas hold when many writes race, and concurrent whole-document PUTs from two
 * processes are applied one after another (compare-and-set on the ETag), none lost to a race.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { portalXcapStore } from "@/lib/portal/xcap-http";
import { createXcapServer, type XcapServer } from "@/lib/xcap/server";
import { bothDatabases, type TempDb } from "../../helpers/temp-db";

const XUI = "sip:alice@example.test";
const RL_MIME = "application/resource-lists+xml";
const doc = (...uris: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="buddies">${uris
    .map((u) => `<entry uri="${u}"/>`)
    .join("")}</list></resource-lists>`;
const path = (name: string) => `resource-lists/users/${XUI}/${name}`;

function put(x: XcapServer, p: string, body: string, headers: Record<string, string> = {}) {
  return x.handle({ method: "PUT", path: p, headers: { "content-type": RL_MIME, ...headers }, body: new TextEncoder().encode(body), user: { aor: "alice@example.test" }, rootUri: "http://h/xcap-root" });
}

describe.each(bothDatabases("herald_xcap_concurrency"))("XCAP store under concurrent writes (%s)", (_name, open) => {
  let t: TempDb;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ t, stop } = await open());
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await stop?.();
  });
  beforeEach(async () => {
    await t.db.xcapDocument.deleteMany({});
  });

  it("twelve concurrent creates against a 5-document quota: exactly 5 are stored, the rest get 409", async () => {
    const x = createXcapServer(portalXcapStore(t.db), { maxDocumentsPerUser: 5 });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => put(x, path(`d${i}`), doc(`sip:u${i}@example.test`))));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(5).fill(201), ...Array(7).fill(409)]);
    expect(await t.db.xcapDocument.count({ where: { xui: XUI } })).toBe(5);
  });

  it("concurrent growing writes against a byte quota never store more than the quota", async () => {
    const small = doc();
    const big = doc(...Array.from({ length: 20 }, (_, i) => `sip:contact${i}@example.test`));
    const maxBytes = 3 * Buffer.byteLength(small) + Buffer.byteLength(big) + 10;
    const x = createXcapServer(portalXcapStore(t.db), { maxBytesPerUser: maxBytes });
    for (const n of ["a", "b", "c"]) expect((await put(x, path(n), small)).status).toBe(201);
    // each of a, b, c grows to `big` at once: only one fits
    const results = await Promise.all(["a", "b", "c"].map((n) => put(x, path(n), big)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 413, 413]);
    const rows = await t.db.xcapDocument.findMany({ where: { xui: XUI } });
    expect(rows.reduce((s, r) => s + Buffer.byteLength(r.content), 0)).toBeLessThanOrEqual(maxBytes);
  });

  it("concurrent whole-document PUTs from two processes: each answers 200 with its own ETag; the stored one is current, every other outdated", async () => {
    const a = createXcapServer(portalXcapStore(t.db));
    const b = createXcapServer(portalXcapStore(t.db));
    expect((await put(a, path("index"), doc("sip:first@example.test"))).status).toBe(201);
    await b.handle({ method: "GET", path: path("index"), headers: {}, body: new Uint8Array(), user: { aor: "alice@example.test" }, rootUri: "http://h/xcap-root" });
    const answered: Array<{ etag: string; uri: string }> = [];
    await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const uri = `sip:w${i}@example.test`;
        const r = await put(i % 2 ? a : b, path("index"), doc(uri));
        expect(r.status).toBe(200);
        answered.push({ etag: r.headers.etag!, uri });
      }),
    );
    expect(new Set(answered.map((w) => w.etag)).size).toBe(16);
    const row = (await t.db.xcapDocument.findFirst({ where: { xui: XUI, path: "index" } }))!;
    // the writes were applied one after another: the stored version is one that was answered, and
    // a conditional PUT on it succeeds while every older ETag is refused
    const stored = answered.find((w) => w.etag === `"${row.etag}"`);
    expect(stored).toBeDefined();
    expect(row.content).toContain(stored!.uri);
    const older = answered.find((w) => w !== stored)!;
    expect((await put(a, path("index"), doc("sip:late@example.test"), { "if-match": older.etag })).status).toBe(412);
    expect((await put(b, path("index"), doc("sip:late@example.test"), { "if-match": stored!.etag })).status).toBe(200);
  });
});
