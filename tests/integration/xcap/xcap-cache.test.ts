/**
 * The portal's per-process caches on the XCAP path: document texts in PrismaXcapStore (served
 * without a database read for the TTL, writes still compare-and-set in the database, two stores on
 * one database behaving as two processes would; the per-user quotas and the compare-and-set under
 * concurrent writes) and digest credentials in createXcapHttp.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { addAccount, addDomain, setDisabled } from "@/lib/accounts/service";
import { digestHa1 } from "@/lib/accounts/password";
import { portalXcapStore, XCAP_DOCUMENT_CACHE_TTL_MS } from "@/lib/portal/xcap-http";
import { PrismaXcapStore } from "@/lib/storage/xcap-prisma-store";
import type { Db } from "@/lib/db";
import type { XcapDocumentKey } from "@/lib/xcap/uri";
import { createXcapServer, type XcapServer } from "@/lib/xcap/server";
import { XcapClient } from "@/lib/xcap/client";
import { heldTransaction } from "../../helpers/held-transaction";
import { bothDatabases, tempSqliteDb, type TempDb } from "../../helpers/temp-db";
import { serveFetch } from "../../helpers/xcap-http-server";
import { testXcapHttp } from "../../helpers/test-xcap-http";
import { waitFor } from "../../helpers/wait";

const TTL = XCAP_DOCUMENT_CACHE_TTL_MS;
const XUI = "sip:alice@example.test";
const RL_MIME = "application/resource-lists+xml";
const EL_MIME = "application/xcap-el+xml";
const doc = (...uris: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="buddies">${uris
    .map((u) => `<entry uri="${u}"/>`)
    .join("")}</list></resource-lists>`;
const entryPath = (uri: string) =>
  `resource-lists/users/${XUI}/index/~~/resource-lists/list%5B@name=%22buddies%22%5D/entry%5B@uri=%22${encodeURIComponent(uri)}%22%5D`;
const DOC_PATH = `resource-lists/users/${XUI}/index`;

function call(x: XcapServer, method: string, path: string, body = "", headers: Record<string, string> = {}) {
  return x
    .handle({ method, path, headers, body: new TextEncoder().encode(body), user: { aor: "alice@example.test" }, rootUri: "http://h/xcap-root" })
    .then((r) => ({ ...r, text: new TextDecoder().decode(r.body) }));
}
const stored = async (db: Db) =>
  (await db.xcapDocument.findUnique({ where: { auid_scope_xui_path: { auid: "resource-lists", scope: "users", xui: XUI, path: "index" } } }))!;

const backends = bothDatabases("herald_xcap_cache");

describe.each(backends)("XCAP document cache (PrismaXcapStore on %s)", (_name, open) => {
  let t: TempDb;
  let stop: (() => Promise<void>) | undefined;
  let clock = 0;
  const now = () => clock;
  /** one "process": a cached store and the XCAP core over it */
  const proc = () => {
    const store = portalXcapStore(t.db, { now });
    return { store, x: createXcapServer(store) };
  };

  beforeAll(async () => {
    ({ t, stop } = await open());
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await stop?.();
  });
  beforeEach(async () => {
    clock = 1_000_000;
    await t.db.xcapDocument.deleteMany({});
  });

  it("usage (the per-user quotas' figure) counts one user's documents and their UTF-8 bytes", async () => {
    const { store } = proc();
    expect(await store.usage(XUI)).toEqual({ documents: 0, bytes: 0 });
    const a = "<r>é</r>";
    const b = "<r>€€</r>";
    await store.put({ auid: "resource-lists", scope: "users", xui: XUI, docPath: "a" }, { content: a, etag: "1" }, null);
    await store.put({ auid: "pres-rules", scope: "users", xui: XUI, docPath: "index" }, { content: b, etag: "2" }, null);
    await store.put({ auid: "resource-lists", scope: "users", xui: "sip:other@example.test", docPath: "a" }, { content: b, etag: "3" }, null);
    expect(await store.usage(XUI)).toEqual({ documents: 2, bytes: Buffer.byteLength(a) + Buffer.byteLength(b) });
  });

  it("serves an unchanged document without a database read, and reads again after the TTL", async () => {
    const a = proc();
    expect((await call(a.x, "PUT", DOC_PATH, doc("sip:bob@example.test"), { "content-type": RL_MIME })).status).toBe(201);
    // another process rewrites the row behind this one's back
    await t.db.xcapDocument.updateMany({ data: { content: doc("sip:zed@example.test"), etag: "other" } });
    const cached = await call(a.x, "GET", DOC_PATH);
    expect(cached.text).toContain("sip:bob@example.test"); // from the cache: no read happened
    expect(a.store.cacheStats.hits).toBe(1);
    clock += TTL - 1;
    expect((await call(a.x, "GET", DOC_PATH)).text).toContain("sip:bob@example.test");
    clock += 1;
    const fresh = await call(a.x, "GET", DOC_PATH);
    expect(fresh.text).toContain("sip:zed@example.test");
    expect(fresh.headers.etag).toBe('"other"');
  });

  it("reads issued together leave as one query per auid and path, each answered with its own row", async () => {
    const store = new PrismaXcapStore(t.db);
    const users = Array.from({ length: 60 }, (_, i) => `sip:u${i}@example.test`);
    // every other user has a pres-rules document; everyone has a resource-lists one
    await t.db.xcapDocument.createMany({
      data: users.flatMap((xui, i) => [
        ...(i % 2 ? [] : [{ auid: "pres-rules", scope: "users", xui, path: "index", content: `<rules of="${xui}"/>`, etag: `r${i}` }]),
        { auid: "resource-lists", scope: "users", xui, path: "index", content: `<lists of="${xui}"/>`, etag: `l${i}` },
      ]),
    });
    const before = store.readQueries;
    const key = (auid: string, xui: string) => ({ auid, scope: "users" as const, xui, docPath: "index" });
    const [rules, lists] = await Promise.all([
      Promise.all(users.map((u) => store.get(key("pres-rules", u)))),
      Promise.all(users.map((u) => store.get(key("resource-lists", u)))),
    ]);
    expect(store.readQueries - before).toBe(2);
    users.forEach((u, i) => {
      expect(rules[i]).toEqual(i % 2 ? null : { content: `<rules of="${u}"/>`, etag: `r${i}` });
      expect(lists[i]).toEqual({ content: `<lists of="${u}"/>`, etag: `l${i}` });
    });
    // the same document asked for twice in one turn is one row in the query, both callers answered
    const [x, y] = await Promise.all([store.get(key("resource-lists", users[3]!)), store.get(key("resource-lists", users[3]!))]);
    expect(x).toEqual(y);
    // a lone read is still one lookup
    const n = store.readQueries;
    expect(await store.get(key("pres-rules", users[1]!))).toBeNull();
    expect(store.readQueries - n).toBe(1);
  });

  it("a replace stores content, ETag and an updatedAt Prisma reads back; never inside someone else's open transaction", async () => {
    const store = new PrismaXcapStore(t.db);
    const key = { auid: "resource-lists", scope: "users" as const, xui: XUI, docPath: "index" };
    expect(await store.put(key, { content: doc("sip:a@example.test"), etag: "e1" }, null)).toEqual({ ok: true });
    const before = Date.now();
    expect(await store.put(key, { content: doc("sip:b@example.test"), etag: "e2" }, "e1")).toEqual({ ok: true });
    const row = await stored(t.db);
    expect(row).toMatchObject({ content: doc("sip:b@example.test"), etag: "e2" });
    expect(row.updatedAt).toBeInstanceOf(Date);
    expect(Math.abs(row.updatedAt.getTime() - before)).toBeLessThan(60_000);
    expect(await store.put(key, { content: doc("sip:c@example.test"), etag: "e3" }, "e1")).toEqual({ ok: false, reason: "etag-mismatch" });

    // an interactive transaction is open (and will roll back) while the next write comes in
    const tx = await heldTransaction(t.db, (q) =>
      q.xcapDocument.create({ data: { auid: "pres-rules", scope: "users", xui: XUI, path: "index", content: "<x/>", etag: "t1" } }),
    );
    const write = store.put(key, { content: doc("sip:d@example.test"), etag: "e4" }, "e2");
    expect(await tx.rollBack()).toBe("roll back");
    expect(await write).toEqual({ ok: true });
    // the write is not undone with the transaction it ran next to
    expect(await stored(t.db)).toMatchObject({ content: doc("sip:d@example.test"), etag: "e4" });
    expect(await t.db.xcapDocument.count({ where: { auid: "pres-rules" } })).toBe(0);
  });

  it("an uncached store reads the database every time", async () => {
    const store = new PrismaXcapStore(t.db);
    const x = createXcapServer(store);
    await call(x, "PUT", DOC_PATH, doc("sip:bob@example.test"), { "content-type": RL_MIME });
    await t.db.xcapDocument.updateMany({ data: { content: doc("sip:zed@example.test"), etag: "other" } });
    expect((await call(x, "GET", DOC_PATH)).text).toContain("sip:zed@example.test");
  });

  it("writes in this process are read back at once (node GETs included)", async () => {
    const a = proc();
    await call(a.x, "PUT", DOC_PATH, doc("sip:bob@example.test"), { "content-type": RL_MIME });
    expect((await call(a.x, "GET", DOC_PATH)).status).toBe(200);
    const put = await call(a.x, "PUT", entryPath("sip:carol@example.test"), `<entry uri="sip:carol@example.test"/>`, { "content-type": EL_MIME });
    expect(put.status).toBe(201);
    const got = await call(a.x, "GET", DOC_PATH);
    expect(got.text).toContain("sip:carol@example.test");
    expect(got.headers.etag).toBe(put.headers.etag);
    expect((await call(a.x, "GET", entryPath("sip:carol@example.test"))).status).toBe(200);
    const del = await call(a.x, "DELETE", DOC_PATH);
    expect(del.status).toBe(200);
    expect((await call(a.x, "GET", DOC_PATH)).status).toBe(404);
  });

  it("two processes writing one document: the stale cache loses the compare-and-set and retries, no update is lost", async () => {
    const a = proc();
    const b = proc();
    await call(a.x, "PUT", DOC_PATH, doc("sip:bob@example.test"), { "content-type": RL_MIME });
    expect((await call(b.x, "GET", DOC_PATH)).status).toBe(200); // b caches this version
    expect(b.store.cacheStats.misses).toBe(1);
    const pa = await call(a.x, "PUT", entryPath("sip:carol@example.test"), `<entry uri="sip:carol@example.test"/>`, { "content-type": EL_MIME });
    expect(pa.status).toBe(201);
    // b still holds the version without carol; its element PUT must not drop carol
    const pb = await call(b.x, "PUT", entryPath("sip:dave@example.test"), `<entry uri="sip:dave@example.test"/>`, { "content-type": EL_MIME });
    expect(pb.status).toBe(201);
    const row = await stored(t.db);
    expect(row.content).toContain("sip:bob@example.test");
    expect(row.content).toContain("sip:carol@example.test");
    expect(row.content).toContain("sip:dave@example.test");
    expect(`"${row.etag}"`).toBe(pb.headers.etag);
    // and b now serves what is stored
    expect((await call(b.x, "GET", DOC_PATH)).text).toBe(row.content);
  });

  it("many concurrent element writers in two processes: every entry arrives", async () => {
    const a = proc();
    const b = proc();
    await call(a.x, "PUT", DOC_PATH, doc(), { "content-type": RL_MIME });
    await Promise.all([call(a.x, "GET", DOC_PATH), call(b.x, "GET", DOC_PATH)]);
    const uris = Array.from({ length: 12 }, (_, i) => `sip:u${i}@example.test`);
    const results = await Promise.all(
      uris.map((u, i) => call(i % 2 ? a.x : b.x, "PUT", entryPath(u), `<entry uri="${u}"/>`, { "content-type": EL_MIME })),
    );
    expect(results.map((r) => r.status)).toEqual(uris.map(() => 201));
    const row = await stored(t.db);
    for (const u of uris) expect(row.content).toContain(u);
  });

  it("a precondition or a missing node is judged on a fresh read, not on a stale cache", async () => {
    const a = proc();
    const b = proc();
    await call(a.x, "PUT", DOC_PATH, doc("sip:bob@example.test"), { "content-type": RL_MIME });
    const oldEtag = (await call(b.x, "GET", DOC_PATH)).headers.etag!;
    const pa = await call(a.x, "PUT", entryPath("sip:carol@example.test"), `<entry uri="sip:carol@example.test"/>`, { "content-type": EL_MIME });
    // a client that saw a's answer deletes carol through b (whose cache has no carol): 200, not 404
    const del = await call(b.x, "DELETE", entryPath("sip:carol@example.test"), "", { "if-match": pa.headers.etag! });
    expect(del.status).toBe(200);
    expect((await stored(t.db)).content).not.toContain("sip:carol@example.test");
    // a's cache is now the stale one: If-Match with the current ETag succeeds there too
    const put = await call(a.x, "PUT", DOC_PATH, doc("sip:erin@example.test"), { "content-type": RL_MIME, "if-match": del.headers.etag! });
    expect(put.status).toBe(200);
    // and an outdated ETag is still refused
    const stale = await call(b.x, "PUT", DOC_PATH, doc("sip:frank@example.test"), { "content-type": RL_MIME, "if-match": oldEtag });
    expect(stale.status).toBe(412);
    expect(stale.headers.etag).toBe(put.headers.etag);
    expect((await stored(t.db)).content).toContain("sip:erin@example.test");
  });

  it("a create through a stale process finds the document another process created", async () => {
    const a = proc();
    const b = proc();
    expect((await call(b.x, "GET", DOC_PATH)).status).toBe(404); // absence is never cached
    await call(a.x, "PUT", DOC_PATH, doc("sip:bob@example.test"), { "content-type": RL_MIME });
    const create = await call(b.x, "PUT", DOC_PATH, doc("sip:zed@example.test"), { "content-type": RL_MIME, "if-none-match": "*" });
    expect(create.status).toBe(412);
    expect((await call(b.x, "GET", DOC_PATH)).text).toContain("sip:bob@example.test");
  });

  it("a read in flight across a write of this process does not cache the older text", async () => {
    const rows = [{ content: "<old/>", etag: "e1" }];
    let hold: ((v: unknown) => void) | undefined;
    let started = false;
    const fakeDb = {
      xcapDocument: {
        findUnique: async () => {
          started = true;
          const row = rows[rows.length - 1];
          if (hold) await new Promise((r) => (hold = r));
          return row;
        },
      },
      // the store's compare-and-set statement: SET content, etag, updatedAt WHERE <key> AND etag
      $executeRaw: async (_sql: TemplateStringsArray, content: string, etag: string, ...rest: unknown[]) => {
        if (rows[rows.length - 1]!.etag !== rest[rest.length - 1]) return 0;
        rows.push({ content, etag });
        return 1;
      },
    } as unknown as Db;
    const store = new PrismaXcapStore(fakeDb, { cache: { ttlMs: TTL, now } });
    const key = { auid: "resource-lists", scope: "users" as const, xui: XUI, docPath: "index" };
    hold = () => undefined;
    const reading = store.get(key); // reads <old/>, answer delayed
    // reads leave on the next turn of the event loop (batched): wait until this one is at the database
    for (let i = 0; i < 100 && !started; i++) await new Promise((r) => setImmediate(r));
    expect(started).toBe(true);
    expect(await store.put(key, { content: "<new/>", etag: "e2" }, "e1")).toEqual({ ok: true });
    const release = hold!;
    hold = undefined;
    release(undefined);
    expect((await reading)?.content).toBe("<old/>");
    expect(await store.get(key)).toMatchObject({ content: "<new/>", etag: "e2", cached: true });
  });

  // on PostgreSQL the compare-and-set and the quota's usage query run on the pg pool (issue 13)
  const docAt = (name: string) => `resource-lists/users/${XUI}/${name}`;
  const putDoc = (x: XcapServer, p: string, body: string, headers: Record<string, string> = {}) => call(x, "PUT", p, body, { "content-type": RL_MIME, ...headers });

  it("twelve concurrent creates against a 5-document quota: exactly 5 are stored, the rest get 409", async () => {
    const x = createXcapServer(portalXcapStore(t.db, { now }), { maxDocumentsPerUser: 5 });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => putDoc(x, docAt(`d${i}`), doc(`sip:u${i}@example.test`))));
    expect(results.map((r) => r.status).sort()).toEqual([...Array(5).fill(201), ...Array(7).fill(409)]);
    expect(await t.db.xcapDocument.count({ where: { xui: XUI } })).toBe(5);
  });

  it("concurrent growing writes against a byte quota never store more than the quota", async () => {
    const small = doc();
    const big = doc(...Array.from({ length: 20 }, (_, i) => `sip:contact${i}@example.test`));
    const maxBytes = 3 * Buffer.byteLength(small) + Buffer.byteLength(big) + 10;
    const x = createXcapServer(portalXcapStore(t.db, { now }), { maxBytesPerUser: maxBytes });
    for (const n of ["a", "b", "c"]) expect((await putDoc(x, docAt(n), small)).status).toBe(201);
    // each of a, b, c grows to `big` at once: only one fits
    const results = await Promise.all(["a", "b", "c"].map((n) => putDoc(x, docAt(n), big)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 413, 413]);
    const rows = await t.db.xcapDocument.findMany({ where: { xui: XUI } });
    expect(rows.reduce((sum, r) => sum + Buffer.byteLength(r.content), 0)).toBeLessThanOrEqual(maxBytes);
  });

  it("concurrent whole-document PUTs from two processes: each answers 200 with its own ETag; the stored one is current, every other outdated", async () => {
    const a = proc();
    const b = proc();
    expect((await putDoc(a.x, DOC_PATH, doc("sip:first@example.test"))).status).toBe(201);
    expect((await call(b.x, "GET", DOC_PATH)).status).toBe(200); // b caches this version
    const answered: Array<{ etag: string; uri: string }> = [];
    await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const uri = `sip:w${i}@example.test`;
        const r = await putDoc(i % 2 ? a.x : b.x, DOC_PATH, doc(uri));
        expect(r.status).toBe(200);
        answered.push({ etag: r.headers.etag!, uri });
      }),
    );
    expect(new Set(answered.map((w) => w.etag)).size).toBe(16);
    const row = await stored(t.db);
    const current = answered.find((w) => w.etag === `"${row.etag}"`);
    expect(current).toBeDefined();
    expect(row.content).toContain(current!.uri);
    const older = answered.find((w) => w !== current)!;
    expect((await putDoc(a.x, DOC_PATH, doc("sip:late@example.test"), { "if-match": older.etag })).status).toBe(412);
    expect((await putDoc(b.x, DOC_PATH, doc("sip:late@example.test"), { "if-match": current!.etag })).status).toBe(200);
  });

  it("ordered compare-and-sets (PostgreSQL's pipelined connection) issued together land in call order, and again after the connection is lost", async () => {
    const { store } = proc();
    const key: XcapDocumentKey = { auid: "resource-lists", scope: "users", xui: XUI, docPath: "index" };
    await store.put(key, { content: doc("sip:v0@example.test"), etag: "v0" }, null);
    if (_name === "sqlite") return expect(store.orderedPut(key, { content: doc("sip:v1@example.test"), etag: "v1" }, "v0")).toBeNull();
    // each expects the version the one before it writes: any other order fails all that follow
    const chain = () => Array.from({ length: 30 }, (_, i) => store.orderedPut(key, { content: doc(`sip:v${i + 1}@example.test`), etag: `v${i + 1}` }, `v${i}`)!);
    const results = await Promise.all(chain());
    expect(results.every((r) => r.ok)).toBe(true);
    expect((await stored(t.db)).etag).toBe("v30");
    // an rls-services document is written in a transaction: not ordered
    expect(store.orderedPut({ ...key, auid: "rls-services" }, { content: "<x/>", etag: "r" }, "r0")).toBeNull();
    // the server drops the pipelined connection: statements fail, then a new connection serves
    const killed = await t.db.$queryRawUnsafe<Array<{ killed: boolean }>>(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE query LIKE 'UPDATE "XcapDocument"%' AND pid <> pg_backend_pid()`,
    );
    expect(killed).toEqual([{ killed: true }]);
    let etag = "v30";
    await waitFor(
      async () => {
        const next = `w${etag}`;
        const r = await store.orderedPut(key, { content: doc(`sip:${next}@example.test`), etag: next }, etag)!.catch(() => null);
        if (r?.ok) etag = next;
        return r?.ok;
      },
      { what: "a compare-and-set on a new pipelined connection" },
    );
    expect((await stored(t.db)).etag).toBe(etag);
  });
});

describe("digest credentials cache on the XCAP root", () => {
  let t: TempDb;
  let srv: Awaited<ReturnType<typeof serveFetch>>;
  let clock = 1_000_000;

  beforeAll(async () => {
    t = await tempSqliteDb();
    await addDomain(t.db, "example.test");
    await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1" });
    const x = testXcapHttp(t.db, { store: portalXcapStore(t.db), credentialsTtlMs: 5_000, now: () => clock });
    srv = await serveFetch((r) => x.handle(r));
  });
  afterAll(async () => {
    await srv?.close();
    await t?.close();
  });

  const alice = () =>
    new XcapClient({ root: `${srv.url}/xcap-root`, xui: XUI, auth: { username: "alice", ha1: digestHa1("alice", "example.test", "Alice-pass1") } });
  const status = (c: XcapClient) =>
    c.getDocument("resource-lists", "index").then(
      () => 200,
      (e: { status?: number }) => e.status ?? 0,
    );

  it("a domain added in this process is challenged at once, though its absence was cached", async () => {
    const url = `${srv.url}/xcap-root/resource-lists/users/sip:zoe@late.test/index`;
    expect((await fetch(url)).headers.get("www-authenticate")).toBeNull(); // no such domain: nothing to challenge with
    await addDomain(t.db, "late.test");
    expect((await fetch(url)).headers.get("www-authenticate")).toMatch(/Digest realm="late.test"/);
  });

  it("an account disabled by another process stops working within the TTL; one disabled here at once", async () => {
    const c = alice();
    expect(await status(c)).toBe(200); // no document yet: getDocument answers null
    await t.db.account.update({ where: { address: "alice@example.test" }, data: { disabled: true } }); // the CLI, elsewhere
    expect(await status(c)).toBe(200);
    clock += 5_000;
    expect(await status(c)).toBe(401);
    await t.db.account.update({ where: { address: "alice@example.test" }, data: { disabled: false } });
    clock += 5_000;
    expect(await status(c)).toBe(200);
    await setDisabled(t.db, "alice@example.test", true); // the portal's own write: no waiting
    expect(await status(c)).toBe(401);
  });
});
