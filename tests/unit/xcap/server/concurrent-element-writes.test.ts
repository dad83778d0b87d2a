/**
 * Concurrent element PUTs to one document from one process (found by tests/bench/xcap.ts: ten
 * concurrent writers got 503 after exhausting the compare-and-set attempts). They are now queued
 * per document: every write succeeds and none is lost. A whole-document body is parsed and
 * validated before that queue (it does not depend on the stored version). With a store that
 * orders its writes (orderedPut: PostgreSQL's pipelined connection) the next writer starts on the
 * version being written.
 */

/** orderedPut: writes held behind one gate, then run in call order (as a pipelined connection). */
class OrderedStore extends MemoryXcapStore {
  ordered = 0;
  private gate: Promise<void> = Promise.resolve();
  orderedPut(key: XcapDocumentKey, doc: XcapPutInput, expectedEtag: string): Promise<XcapPutResult> {
    this.ordered++;
    return this.gate.then(() => super.put(key, doc, expectedEtag));
  }
  /** Hold the ordered writes issued from now on; returns what lets them run (later ones too). */
  hold(): () => void {
    let open!: () => void;
    this.gate = new Promise<void>((r) => (open = r));
    return () => {
      this.gate = Promise.resolve();
      open();
    };
  }
}

const version = (i: number) => RL_DOC.replace("sip:bob@example.test", `sip:v${i}@example.test`);
import { describe, expect, it } from "vitest";
import { MemoryXcapStore, type XcapPutInput, type XcapPutResult } from "@/lib/xcap/server";
import type { XcapDocumentKey } from "@/lib/xcap/uri";
import { waitFor } from "../../../helpers/wait";
import { EL_MIME, RL, RL_DOC, RL_MIME, setup } from "./helpers";

describe("concurrent writes to one document", () => {
  it("50 concurrent element PUTs all succeed and all land", async () => {
    const { put, call } = setup();
    expect((await put(RL, RL_DOC, RL_MIME)).status).toBe(201);
    const n = 50;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const uri = `sip:w${i}@example.test`;
        const sel = `${RL}/~~/resource-lists/list%5B@name=%22family%22%5D/entry%5B@uri=%22${uri}%22%5D`;
        return put(sel, `<entry uri="${uri}"/>`, EL_MIME);
      }),
    );
    expect(results.map((r) => r.status)).toEqual(Array(n).fill(201));
    const doc = (await call({ path: RL })).text;
    for (let i = 0; i < n; i++) expect(doc).toContain(`sip:w${i}@example.test`);
    // each write saw the previous one: n distinct ETags
    expect(new Set(results.map((r) => r.headers.etag)).size).toBe(n);
  });

  it("a failing write does not block the next one", async () => {
    const { put } = setup();
    await put(RL, RL_DOC, RL_MIME);
    const [bad, good] = await Promise.all([
      put(RL, "<resource-lists", RL_MIME),
      put(`${RL}/~~/resource-lists/list%5B@name=%22family%22%5D/entry%5B@uri=%22sip:x@example.test%22%5D`, '<entry uri="sip:x@example.test"/>', EL_MIME),
    ]);
    expect(bad.status).toBe(409);
    expect(good.status).toBe(201);
  });

  it("a whole-document PUT is parsed and validated while an earlier write to the document waits on the store", async () => {
    const { store, put, call } = setup();
    expect((await put(RL, RL_DOC, RL_MIME)).status).toBe(201);
    const realPut = store.put.bind(store);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let waiting = 0;
    store.put = async (key, doc, expected) => {
      waiting++;
      await gate;
      return realPut(key, doc, expected);
    };
    const first = put(RL, RL_DOC.replace("sip:bob@example.test", "sip:first@example.test"), RL_MIME);
    await waitFor(() => waiting === 1, { what: "the first write to reach the store" });
    // a body the schema refuses (a duplicate entry) is answered while the first write waits
    let refused: number | undefined;
    void put(RL, RL_DOC.replace("sip:carol@example.test", "sip:bob@example.test"), RL_MIME).then((r) => (refused = r.status));
    // bad content is 409 whatever the preconditions: never 412 (RFC 9110 §13.2.1)
    let mismatched: number | undefined;
    void put(RL, "<resource-lists", RL_MIME, { headers: { "if-match": '"not-this"' } }).then((r) => (mismatched = r.status));
    // a good one waits its turn
    let secondDone = false;
    const second = put(RL, RL_DOC.replace("sip:bob@example.test", "sip:second@example.test"), RL_MIME).then((r) => ((secondDone = true), r));
    await waitFor(() => refused !== undefined && mismatched !== undefined, { what: "the bad bodies answered while the first write waits" });
    expect([refused, mismatched, waiting, secondDone]).toEqual([409, 409, 1, false]);
    open();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    const stored = (await call({ path: RL })).text;
    expect(stored).toContain("sip:second@example.test");
    expect(stored).not.toContain("sip:first@example.test");
  });

  it("with an ordering store, the next writers' compare-and-sets are issued while the first is in flight, and land in order", async () => {
    const store = new OrderedStore();
    const { put, call, events } = setup({}, store);
    expect((await put(RL, RL_DOC, RL_MIME)).status).toBe(201);
    const open = store.hold();
    const writes = [1, 2, 3, 4, 5].map((i) => put(RL, version(i), RL_MIME));
    // without the handover only the first would be issued until it completes
    await waitFor(() => store.ordered === 5, { what: "five compare-and-sets in flight" });
    open();
    const results = await Promise.all(writes);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect((await call({ path: RL })).text).toBe(version(5));
    // one change event per write, in order, each from the version the previous one stored
    const changes = events.slice(1);
    expect(changes.map((e) => e.etag)).toEqual(results.map((r) => r.headers.etag!.slice(1, -1)));
    expect(changes.slice(1).map((e) => e.previousEtag)).toEqual(changes.slice(0, -1).map((e) => e.etag));
  });

  it("with an ordering store, a handed-over version that is never stored makes the next writer retry on what is", async () => {
    const store = new OrderedStore();
    const { put, call, events } = setup({}, store);
    expect((await put(RL, RL_DOC, RL_MIME)).status).toBe(201);
    const open = store.hold();
    const first = put(RL, version(1), RL_MIME);
    const second = put(RL, version(2), RL_MIME);
    await waitFor(() => store.ordered === 2, { what: "both compare-and-sets in flight" });
    // another process replaces the document first: both compare-and-sets miss
    const cur = (await store.get({ auid: "resource-lists", scope: "users", xui: "sip:alice@example.test", docPath: "index" }))!;
    expect((await store.put({ auid: "resource-lists", scope: "users", xui: "sip:alice@example.test", docPath: "index" }, { content: version(0), etag: "other" }, cur.etag)).ok).toBe(true);
    open();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect((await call({ path: RL })).text).toBe(version(2));
    const changes = events.slice(1);
    expect(changes.map((e) => e.previousEtag)).toEqual(["other", changes[0]!.etag]);
  });
});
