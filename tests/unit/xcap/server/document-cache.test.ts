/**
 * The parsed-DOM cache of the XCAP core (lib/xcap/server/document-cache.ts): it must never serve a
 * tree that is not the stored text (after a write through the handler, a write by another server
 * or process, a failed write, or a write still in flight), and it must not change any response.
 */
import { describe, expect, it, vi } from "vitest";
import { DOMImplementation } from "@xmldom/xmldom";
import {
  handleXcapRequest,
  MemoryXcapStore,
  type XcapPutInput,
  type XcapPutResult,
  type XcapServerOptions,
  type XcapStore,
} from "@/lib/xcap/server";
import { XcapDocumentCache } from "@/lib/xcap/server/document-cache";
import type { XcapDocumentKey } from "@/lib/xcap/uri";
import { ALICE, ATT_MIME, EL_MIME, ROOT, RL, RL_DOC, RL_MIME, sel, xcapErrorCondition } from "./helpers";

const KEY: XcapDocumentKey = { auid: "resource-lists", scope: "users", xui: "sip:alice@example.test", docPath: "index" };
const FRIENDS = 'resource-lists/list[@name="friends"]';
const entry = (uri: string) => sel(`${FRIENDS}/entry[@uri="${uri}"]`);

function client(store: XcapStore, options: XcapServerOptions = {}) {
  async function call(method: string, path: string, body = "", contentType?: string, headers: Record<string, string> = {}) {
    const res = await handleXcapRequest(
      {
        method,
        path,
        query: "",
        headers: { ...headers, ...(contentType ? { "content-type": contentType } : {}) },
        body: new TextEncoder().encode(body),
        user: ALICE,
        rootUri: ROOT,
      },
      store,
      options,
    );
    return { status: res.status, etag: res.headers.etag, text: new TextDecoder().decode(res.body) };
  }
  return {
    call,
    get: (path: string) => call("GET", path),
    put: (path: string, body: string, type: string, headers?: Record<string, string>) => call("PUT", path, body, type, headers),
    del: (path: string) => call("DELETE", path),
  };
}

/** A store whose put can be held open, to look at the server while a write is in flight. */
class GatedStore extends MemoryXcapStore {
  gate: Promise<void> | null = null;
  override async put(key: XcapDocumentKey, doc: XcapPutInput, expected: string | null): Promise<XcapPutResult> {
    if (this.gate) await this.gate;
    return super.put(key, doc, expected);
  }
}

describe("XCAP parsed-document cache", () => {
  it("serves node GETs from the cache and never a stale tree after an element PUT", async () => {
    const cache = new XcapDocumentCache();
    const c = client(new MemoryXcapStore(), { documentCache: cache });
    expect((await c.put(RL, RL_DOC, RL_MIME)).status).toBe(201);
    const name = entry("sip:bob@example.test") + "/display-name";
    expect((await c.get(name)).text).toBe("<display-name>Bob</display-name>");
    expect((await c.get(name)).text).toBe("<display-name>Bob</display-name>");
    expect(cache.stats.hits).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) {
      const put = await c.put(entry("sip:bob@example.test"), `<entry uri="sip:bob@example.test"><display-name>Bob ${i}</display-name></entry>`, EL_MIME);
      expect(put.status).toBe(200);
      const got = await c.get(name);
      expect(got.text).toBe(`<display-name>Bob ${i}</display-name>`);
      expect(got.etag).toBe(put.etag);
      // the whole document (served from the store's text) agrees with the cached tree
      expect((await c.get(RL)).text).toContain(`<display-name>Bob ${i}</display-name>`);
    }
  });

  it("a whole-document PUT builds no DOM (it is validated on the read-only tree); the first node GET parses it once for the ones after", async () => {
    const cache = new XcapDocumentCache();
    const c = client(new MemoryXcapStore(), { documentCache: cache });
    // every xmldom parse (lib/xml-parser.ts) starts with one new document
    const parse = vi.spyOn(DOMImplementation.prototype, "createDocument");
    try {
      const put = await c.put(RL, RL_DOC, RL_MIME);
      expect(put.status).toBe(201);
      expect(parse).toHaveBeenCalledTimes(0);
      expect(cache.size).toBe(0);
      // the tree-based validation still refuses what the schema refuses, and stores nothing
      const dup = RL_DOC.replace("sip:carol@example.test", "sip:bob@example.test");
      expect((await c.put(RL, dup, RL_MIME)).status).toBe(409);
      expect((await c.get(RL)).text).toBe(RL_DOC);
      expect(parse).toHaveBeenCalledTimes(0);
      expect((await c.get(entry("sip:bob@example.test") + "/display-name")).text).toBe("<display-name>Bob</display-name>");
      expect(parse).toHaveBeenCalledTimes(1);
      const tree = parse.mock.results[0]!.value as Document;
      expect(cache.lookup(KEY, { content: RL_DOC, etag: put.etag!.slice(1, -1) })).toBe(tree);
      expect((await c.get(entry("sip:carol@example.test"))).text).toContain("keep me");
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it("a whole-document PUT drops the cached tree of the text it replaces", async () => {
    const cache = new XcapDocumentCache();
    const c = client(new MemoryXcapStore(), { documentCache: cache });
    expect((await c.put(RL, RL_DOC, RL_MIME)).status).toBe(201);
    expect((await c.get(entry("sip:bob@example.test"))).status).toBe(200);
    expect(cache.size).toBe(1);
    const renamed = RL_DOC.replace("sip:bob@example.test", "sip:robert@example.test");
    expect((await c.put(RL, renamed, RL_MIME)).status).toBe(200);
    expect(cache.size).toBe(0);
    expect((await c.get(entry("sip:bob@example.test"))).status).toBe(404);
    expect((await c.get(entry("sip:robert@example.test"))).status).toBe(200);
  });

  it("never serves a cached tree once the store holds other text (another process wrote)", async () => {
    const store = new MemoryXcapStore();
    const c = client(store);
    await c.put(RL, RL_DOC, RL_MIME);
    expect((await c.get(entry("sip:bob@example.test"))).status).toBe(200);
    // another writer replaces the text behind our back, even keeping the same ETag
    const cur = (await store.get(KEY))!;
    const other = cur.content.replace("sip:bob@example.test", "sip:robert@example.test");
    expect((await store.put(KEY, { content: other, etag: cur.etag }, cur.etag)).ok).toBe(true);
    expect((await c.get(entry("sip:bob@example.test"))).status).toBe(404);
    expect((await c.get(entry("sip:robert@example.test"))).status).toBe(200);
  });

  it("two servers with their own caches on one store (two processes) lose no update", async () => {
    const store = new MemoryXcapStore();
    const a = client(store, { documentCache: new XcapDocumentCache() });
    const b = client(store, { documentCache: new XcapDocumentCache() });
    await a.put(RL, RL_DOC, RL_MIME);
    const family = (uri: string) => sel(`resource-lists/list[@name="family"]/entry[@uri="${uri}"]`);
    // warm both caches
    await a.get(entry("sip:bob@example.test"));
    await b.get(entry("sip:bob@example.test"));
    const writes = [];
    for (let i = 0; i < 20; i++) {
      const s = i % 2 ? a : b;
      writes.push(s.put(family(`sip:u${i}@example.test`), `<entry uri="sip:u${i}@example.test"/>`, EL_MIME));
      writes.push(s.get(family(`sip:u${Math.max(0, i - 1)}@example.test`)));
    }
    const results = await Promise.all(writes);
    expect(results.filter((_, i) => i % 2 === 0).map((r) => r.status)).toEqual(Array(20).fill(201));
    for (const s of [a, b]) {
      for (let i = 0; i < 20; i++) expect((await s.get(family(`sip:u${i}@example.test`))).status).toBe(200);
    }
  });

  it("a refused element PUT leaves the cached tree untouched", async () => {
    const c = client(new MemoryXcapStore());
    await c.put(RL, RL_DOC, RL_MIME);
    const before = await c.get(RL);
    await c.get(entry("sip:bob@example.test"));
    // uniqueness-failure: refused by validation after the tree was modified
    const dup = await c.put(entry("sip:bob@example.test"), '<entry uri="sip:carol@example.test"/>', EL_MIME);
    expect(dup.status).toBe(409);
    // schema error in the new element
    const bad = await c.put(entry("sip:bob@example.test"), '<entry uri="sip:bob@example.test"><bogus/></entry>', EL_MIME);
    expect(bad.status).toBe(409);
    expect(xcapErrorCondition(bad.text)).toBe("schema-validation-error");
    // §8.2.5: would not be selected by the request URI
    const moved = await c.put(entry("sip:bob@example.test"), '<entry uri="sip:zed@example.test"/>', EL_MIME);
    expect(moved.status).toBe(409);
    expect(xcapErrorCondition(moved.text)).toBe("cannot-insert");
    // 412
    const pre = await c.put(entry("sip:bob@example.test"), '<entry uri="sip:bob@example.test"/>', EL_MIME, { "if-match": '"nope"' });
    expect(pre.status).toBe(412);
    const after = await c.get(RL);
    expect(after).toEqual(before);
    expect((await c.get(entry("sip:bob@example.test") + "/display-name")).text).toBe("<display-name>Bob</display-name>");
    expect((await c.get(entry("sip:zed@example.test"))).status).toBe(404);
    expect((await c.get(entry("sip:carol@example.test"))).text).toContain("keep me");
  });

  it("a node GET while a write is in flight sees the stored document, not the half-written tree", async () => {
    const store = new GatedStore();
    const c = client(store);
    await c.put(RL, RL_DOC, RL_MIME);
    const name = entry("sip:bob@example.test") + "/display-name";
    expect((await c.get(name)).text).toBe("<display-name>Bob</display-name>");
    let open!: () => void;
    store.gate = new Promise<void>((r) => (open = r));
    const write = c.put(entry("sip:bob@example.test"), '<entry uri="sip:bob@example.test"><display-name>New</display-name></entry>', EL_MIME);
    await new Promise((r) => setTimeout(r, 10));
    const during = await c.get(name);
    expect(during.text).toBe("<display-name>Bob</display-name>");
    expect((await c.get(sel(`${FRIENDS}/entry[1]/display-name`))).text).toBe("<display-name>Bob</display-name>");
    open();
    expect((await write).status).toBe(200);
    store.gate = null;
    expect((await c.get(name)).text).toBe("<display-name>New</display-name>");
  });

  it("a write that loses the compare-and-set is retried on the new text", async () => {
    const store = new MemoryXcapStore();
    const c = client(store);
    await c.put(RL, RL_DOC, RL_MIME);
    await c.get(entry("sip:bob@example.test"));
    // the store changes between the handler's read and its write, once
    const realPut = store.put.bind(store);
    let raced = false;
    store.put = async (key, doc, expected) => {
      if (!raced) {
        raced = true;
        const cur = (await store.get(key))!;
        const other = cur.content.replace("<list name=\"family\"/>", '<list name="family"><entry uri="sip:other@example.test"/></list>');
        await realPut(key, { content: other, etag: "other-writer" }, cur.etag);
      }
      return realPut(key, doc, expected);
    };
    const r = await c.put(entry("sip:dave@example.test"), '<entry uri="sip:dave@example.test"/>', EL_MIME);
    expect(r.status).toBe(201);
    const doc = (await c.get(RL)).text;
    expect(doc).toContain("sip:other@example.test");
    expect(doc).toContain("sip:dave@example.test");
    expect((await c.get(sel('resource-lists/list[@name="family"]/entry[@uri="sip:other@example.test"]'))).status).toBe(200);
  });

  it("gives exactly the responses of an uncached server (element, attribute and delete sequence)", async () => {
    const cache = new XcapDocumentCache();
    const cached = client(new MemoryXcapStore(), { documentCache: cache });
    const plain = client(new MemoryXcapStore(), { documentCache: false });
    const X = "urn:example:ext";
    const steps: Array<[string, string, string?, string?]> = [
      ["PUT", RL, RL_DOC, RL_MIME],
      ["GET", entry("sip:carol@example.test")],
      ["PUT", sel(`${FRIENDS}/entry[3]`), '<entry uri="sip:third@example.test"><display-name xml:lang="en">3 &amp; &lt;three&gt;</display-name></entry>', EL_MIME],
      ["PUT", sel(`${FRIENDS}/entry[1]`), '<entry uri="sip:first@example.test"/>', EL_MIME],
      ["PUT", sel(`${FRIENDS}/entry[9]`), '<entry uri="sip:nine@example.test"/>', EL_MIME],
      ["PUT", sel(`${FRIENDS}/entry[@uri="sip:x@example.test"]`), `<entry uri="sip:x@example.test" x:colour="red"><x:note>n</x:note></entry>`, EL_MIME],
      ["PUT", sel(`${FRIENDS}/entry[@uri="sip:y@example.test"]`), `<entry xmlns:y="${X}" uri="sip:y@example.test" y:mood="ok"/>`, EL_MIME],
      ["GET", RL],
      ["GET", sel(`${FRIENDS}/entry[@uri="sip:x@example.test"]`)],
      ["GET", sel(`${FRIENDS}/entry[@uri="sip:x@example.test"]/namespace::*`)],
      ["PUT", sel(`${FRIENDS}/entry[@uri="sip:first@example.test"]/@uri`), "sip:first2@example.test", ATT_MIME],
      ["PUT", sel(`${FRIENDS}/entry[1]/@uri`), "sip:first2@example.test", ATT_MIME],
      ["PUT", sel(`${FRIENDS}/entry[1]/@lang`), "de", ATT_MIME],
      ["PUT", sel("resource-lists/list[1]/@name"), "pals", ATT_MIME],
      ["GET", sel('resource-lists/list[@name="pals"]/entry[2]')],
      ["DELETE", sel('resource-lists/list[@name="pals"]/entry[@uri="sip:carol@example.test"]')],
      ["GET", sel('resource-lists/list[@name="pals"]/entry[1]/@uri')],
      ["PUT", sel('resource-lists/list[@name="family"]'), '<list name="family"><display-name>F</display-name><entry uri="sip:mum@example.test"/></list>', EL_MIME],
      ["PUT", sel('resource-lists/list[@name="family"]/entry[@uri="sip:mum@example.test"]'), "<entry uri='sip:mum@example.test'>\r\n <display-name>Mum</display-name>\r\n</entry>", EL_MIME],
      ["PUT", sel('resource-lists/list[@name="new"]'), "<list name=\"new\"/>", EL_MIME],
      ["PUT", sel('resource-lists/list[@name="new"]/entry'), '<entry uri="sip:only@example.test"/>', EL_MIME],
      ["PUT", sel('resource-lists/list[@name="new"]/entry'), '<entry uri="sip:only@example.test"><display-name>O</display-name></entry>', EL_MIME],
      ["PUT", sel('resource-lists/list[@name="nope"]/entry'), '<entry uri="sip:z@example.test"/>', EL_MIME],
      ["DELETE", sel('resource-lists/list[@name="pals"]/@name')],
      ["GET", RL],
      ["DELETE", RL],
      ["GET", entry("sip:x@example.test")],
      ["PUT", RL, RL_DOC, RL_MIME],
      ["GET", entry("sip:carol@example.test")],
    ];
    for (const [method, path, body, type] of steps) {
      const [x, y] = [await cached.call(method, path, body, type), await plain.call(method, path, body, type)];
      expect({ step: `${method} ${path}`, ...x }).toEqual({ step: `${method} ${path}`, ...y });
    }
    expect(cache.stats.hits).toBeGreaterThan(10);
  });

  it("stays within its bounds", () => {
    const cache = new XcapDocumentCache({ maxEntries: 2, maxChars: 100 });
    const doc = {} as Document;
    const k = (p: string): XcapDocumentKey => ({ ...KEY, docPath: p });
    cache.set(k("a"), { content: "a", etag: "1" }, doc);
    cache.set(k("b"), { content: "b", etag: "1" }, doc);
    expect(cache.lookup(k("a"), { content: "a", etag: "1" })).toBe(doc); // a is now the most recent
    cache.set(k("c"), { content: "c", etag: "1" }, doc);
    expect(cache.size).toBe(2);
    expect(cache.lookup(k("b"), { content: "b", etag: "1" })).toBeUndefined();
    cache.set(k("big"), { content: "x".repeat(101), etag: "1" }, doc);
    expect(cache.lookup(k("big"), { content: "x".repeat(101), etag: "1" })).toBeUndefined();
    cache.set(k("d"), { content: "y".repeat(100), etag: "1" }, doc); // 1 + 1 + 100 > 100: a and c go
    expect(cache.size).toBe(1);
    expect(cache.lookup(k("a"), { content: "a", etag: "2" })).toBeUndefined();
  });
});
