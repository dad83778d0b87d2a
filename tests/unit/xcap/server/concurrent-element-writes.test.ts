/**
 * Concurrent element PUTs to one document from one process (found by tests/bench/xcap.ts: ten
 * concurrent writers got 503 after exhausting the compare-and-set attempts). They are now queued
 * per document: every write succeeds and none is lost.
 */
import { describe, expect, it } from "vitest";
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
});
