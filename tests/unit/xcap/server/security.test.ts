import { describe, expect, it } from "vitest";
import { ALICE, BOB, EL_MIME, RL, RL_DOC, RL_MIME, sel, setup, xcapErrorCondition } from "./helpers";
import { NS } from "../../../../lib/presence/namespaces";

const BOB_RL = "resource-lists/users/sip:bob@example.test/index";

describe("hostile XML is refused and nothing is stored", () => {
  const hostile: Array<[string, string]> = [
    ["DOCTYPE", `<?xml version="1.0"?><!DOCTYPE r [<!ELEMENT r ANY>]><resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`],
    [
      "external entity",
      `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="&xxe;"/></resource-lists>`,
    ],
    [
      "billion laughs",
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="&lol3;"/></resource-lists>`,
    ],
    ["undeclared entity", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="&lol;"/></resource-lists>`],
    ["malformed", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>`],
    ["unbound prefix", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><q:list/></resource-lists>`],
  ];
  for (const [name, body] of hostile) {
    it(`${name} → 409 not-well-formed`, async () => {
      const s = setup();
      const r = await s.put(RL, body, RL_MIME);
      expect(r.status).toBe(409);
      expect(r.headers["content-type"]).toBe("application/xcap-error+xml");
      expect(xcapErrorCondition(r.text)).toBe("not-well-formed");
      expect(s.store.size).toBe(0);
      expect(s.events).toHaveLength(0);
    });
  }

  it("a DOCTYPE in an element PUT body → 409 not-xml-frag", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    const before = (await s.call({ path: RL })).text;
    const r = await s.put(sel('resource-lists/list[@name="x"]'), '<!DOCTYPE list [<!ENTITY a "b">]><list name="x"/>', EL_MIME);
    expect(xcapErrorCondition(r.text)).toBe("not-xml-frag");
    expect((await s.call({ path: RL })).text).toBe(before);
  });

  it("non-UTF-8 bodies → 409 not-utf-8", async () => {
    const s = setup();
    const latin1 = new Uint8Array([...new TextEncoder().encode('<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="'), 0xe9, ...new TextEncoder().encode('"/></resource-lists>')]);
    const r = await s.call({ method: "PUT", path: RL, body: latin1, contentType: RL_MIME });
    expect(r.status).toBe(409);
    expect(xcapErrorCondition(r.text)).toBe("not-utf-8");
    const utf16 = new Uint8Array([0xff, 0xfe, 0x3c, 0x00, 0x61, 0x00]);
    expect(xcapErrorCondition((await s.call({ method: "PUT", path: RL, body: utf16, contentType: RL_MIME })).text)).toBe("not-utf-8");
    expect(s.store.size).toBe(0);
  });

  it("oversize bodies → 413 (configurable limit)", async () => {
    const s = setup({ maxBodyBytes: 2048 });
    const big = `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="${"a".repeat(4096)}"/></resource-lists>`;
    expect((await s.put(RL, big, RL_MIME)).status).toBe(413);
    expect(s.store.size).toBe(0);
    const d = setup();
    const huge = `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="${"a".repeat(1024 * 1024)}"/></resource-lists>`;
    expect((await d.put(RL, huge, RL_MIME)).status).toBe(413);
  });

  it("node PUTs cannot grow a document past the document limit", async () => {
    const s = setup({ maxBodyBytes: 4096, maxDocumentBytes: 1024 });
    await s.put(RL, RL_DOC, RL_MIME);
    const r = await s.put(sel('resource-lists/list[@name="big"]'), `<list name="big"><display-name>${"x".repeat(1000)}</display-name></list>`, EL_MIME);
    expect(xcapErrorCondition(r.text)).toBe("constraint-failure");
  });
});

describe("deeply nested XML (no recursion on input depth)", () => {
  /** A resource-lists document whose lists nest `n` levels below the root's first list. */
  const nestedLists = (n: number) => `<resource-lists xmlns="${NS.resourceLists}"><list name="a">${"<list>".repeat(n)}${"</list>".repeat(n)}</list></resource-lists>`;

  it("5,000 levels (about 60 KB) → 409 not-well-formed, nothing stored, no stack overflow", async () => {
    const s = setup();
    const r = await s.put(RL, nestedLists(5000), RL_MIME);
    expect(r.status).toBe(409);
    expect(xcapErrorCondition(r.text)).toBe("not-well-formed");
    expect(r.text).toContain("nested deeper than 100 levels");
    expect(s.store.size).toBe(0);
    expect(s.events).toHaveLength(0);
  });

  it("the limit is 100 levels by default (root = 1) and maxDepth changes it", async () => {
    const s = setup();
    expect((await s.put(RL, nestedLists(98), RL_MIME)).status).toBe(201); // 1 + 1 + 98 = 100
    expect(xcapErrorCondition((await s.put(RL, nestedLists(99), RL_MIME)).text)).toBe("not-well-formed");
    const t = setup({ maxDepth: 10 });
    expect(xcapErrorCondition((await t.put(RL, nestedLists(9), RL_MIME)).text)).toBe("not-well-formed");
    expect((await t.put(RL, nestedLists(8), RL_MIME)).status).toBe(201);
  });

  it("an element PUT may only use the levels left below its parent → 409 not-xml-frag", async () => {
    const s = setup({ maxDepth: 6 });
    await s.put(RL, RL_DOC, RL_MIME);
    const before = (await s.call({ path: RL })).text;
    // parent list[@name="friends"] is level 2: the new list may nest 4 levels (3..6)
    const ok = await s.put(sel('resource-lists/list[@name="friends"]/list[@name="n"]'), '<list name="n"><list><list><list/></list></list></list>', EL_MIME);
    expect(ok.status).toBe(201);
    const deep = await s.put(sel('resource-lists/list[@name="friends"]/list[@name="m"]'), '<list name="m"><list><list><list><list/></list></list></list></list>', EL_MIME);
    expect(deep.status).toBe(409);
    expect(xcapErrorCondition(deep.text)).toBe("not-xml-frag");
    const huge = await s.put(sel('resource-lists/list[@name="friends"]/list[@name="h"]'), `<list name="h">${"<list>".repeat(5000)}${"</list>".repeat(5000)}</list>`, EL_MIME);
    expect(xcapErrorCondition(huge.text)).toBe("not-xml-frag");
    expect((await s.call({ path: RL })).text).not.toBe(before);
    expect((await s.call({ path: RL })).text).not.toContain('name="m"');
  });

  it("validation and serialization walk 5,000 nested lists without recursion when a deployment allows them", async () => {
    const s = setup({ maxDepth: 10_000, maxBodyBytes: 4 * 1024 * 1024 });
    expect((await s.put(RL, nestedLists(5000), RL_MIME)).status).toBe(201);
    // a node selector GET serializes the whole subtree
    const el = await s.call({ path: sel('resource-lists/list[@name="a"]') });
    expect(el.status).toBe(200);
    expect(el.text).toBe(`<list name="a">${"<list>".repeat(4999)}<list/>${"</list>".repeat(4999)}</list>`);
    // a duplicate name deep down is still found
    const dup = `<resource-lists xmlns="${NS.resourceLists}"><list name="a">${"<list>".repeat(4000)}<list name="x"/><list name="x"/>${"</list>".repeat(4000)}</list></resource-lists>`;
    expect(xcapErrorCondition((await s.put(RL, dup, RL_MIME)).text)).toBe("uniqueness-failure");
  });
});

describe("per-user quotas (documents and bytes)", () => {
  const doc = (name: string, pad = 0) => `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="${name}">${pad ? `<!--${"x".repeat(pad)}-->` : ""}</list></resource-lists>`;
  const path = (n: number | string) => `resource-lists/users/sip:alice@example.test/doc${n}`;

  it("defaults: 100 documents and 10 MiB per user", async () => {
    const { DEFAULT_MAX_DOCUMENTS_PER_USER, DEFAULT_MAX_BYTES_PER_USER } = await import("@/lib/xcap/server");
    expect(DEFAULT_MAX_DOCUMENTS_PER_USER).toBe(100);
    expect(DEFAULT_MAX_BYTES_PER_USER).toBe(10 * 1024 * 1024);
    const s = setup();
    for (let i = 0; i < 100; i++) expect((await s.put(path(i), doc("a"), RL_MIME)).status).toBe(201);
    expect((await s.put(path(100), doc("a"), RL_MIME)).status).toBe(409);
  });

  it("one document too many → 409 constraint-failure naming the quota; replacing and deleting still work", async () => {
    const s = setup({ maxDocumentsPerUser: 3 });
    for (let i = 0; i < 3; i++) expect((await s.put(path(i), doc("a"), RL_MIME)).status).toBe(201);
    const r = await s.put(path(3), doc("a"), RL_MIME);
    expect(r.status).toBe(409);
    expect(r.headers["content-type"]).toBe("application/xcap-error+xml");
    expect(xcapErrorCondition(r.text)).toBe("constraint-failure");
    expect(r.text).toContain("document quota reached: a user may keep at most 3 documents");
    expect(s.store.size).toBe(3);
    expect(s.events).toHaveLength(3);
    expect((await s.put(path(0), doc("b"), RL_MIME)).status).toBe(200);
    expect((await s.del(path(1))).status).toBe(200);
    expect((await s.put(path(3), doc("a"), RL_MIME)).status).toBe(201);
    // other users have their own count
    expect((await s.put("resource-lists/users/sip:bob@example.test/index", doc("a"), RL_MIME, { user: BOB })).status).toBe(201);
  });

  it("concurrent creations cannot pass the document quota together", async () => {
    const s = setup({ maxDocumentsPerUser: 5 });
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => s.put(path(i), doc("a"), RL_MIME)));
    expect(all.filter((r) => r.status === 201)).toHaveLength(5);
    expect(all.filter((r) => r.status === 409)).toHaveLength(15);
    expect(s.store.size).toBe(5);
  });

  it("growing past the byte quota → 413 (document PUT and element PUT); nothing changes; shrinking always passes", async () => {
    const s = setup({ maxBytesPerUser: 4000 });
    expect((await s.put(path(1), doc("a", 1500), RL_MIME)).status).toBe(201);
    expect((await s.put(path(2), doc("a", 1500), RL_MIME)).status).toBe(201);
    const big = await s.put(path(3), doc("a", 1500), RL_MIME);
    expect(big.status).toBe(413);
    expect(big.text).toMatch(/storage quota exceeded: a user's documents may total at most 4000 bytes/);
    expect(s.store.size).toBe(2);
    const grow = await s.put(path(1), doc("a", 2500), RL_MIME);
    expect(grow.status).toBe(413);
    const el = await s.put(`${path(2)}/~~/resource-lists/list%5B@name=%22b%22%5D`, `<list name="b"><!--${"y".repeat(1200)}--></list>`, EL_MIME);
    expect(el.status).toBe(413);
    expect((await s.call({ path: path(2) })).text).toBe(doc("a", 1500));
    expect(s.events).toHaveLength(2);
    // within the quota, and shrinking, pass
    expect((await s.put(path(1), doc("a", 1600), RL_MIME)).status).toBe(200);
    expect((await s.put(path(1), doc("a"), RL_MIME)).status).toBe(200);
    expect((await s.put(path(3), doc("a", 1500), RL_MIME)).status).toBe(201);
  });
});

describe("authorization", () => {
  it("no user → 401 for everything except reading pres-content", async () => {
    const s = setup();
    expect((await s.call({ path: RL, user: null })).status).toBe(401);
    expect((await s.put(RL, RL_DOC, RL_MIME, { user: null })).status).toBe(401);
    expect((await s.call({ path: "xcap-caps/global/index", user: null })).status).toBe(401);
    expect((await s.call({ path: "org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index", user: null })).status).toBe(404);
    expect((await s.put("org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index", "<content/>", "application/vnd.oma.pres-content+xml", { user: null })).status).toBe(401);
    expect(s.store.size).toBe(0);
  });

  it("another user's tree → 403 for GET, PUT and DELETE; nothing stored or changed", async () => {
    const s = setup();
    await s.put(BOB_RL, RL_DOC, RL_MIME, { user: BOB });
    const bobDoc = (await s.call({ path: BOB_RL, user: BOB })).text;
    expect((await s.call({ path: BOB_RL, user: ALICE })).status).toBe(403);
    expect((await s.call({ path: sel("resource-lists").replace(RL, BOB_RL), user: ALICE })).status).toBe(403);
    expect((await s.put(BOB_RL, RL_DOC.replace("family", "pwned"), RL_MIME, { user: ALICE })).status).toBe(403);
    expect((await s.del(BOB_RL, { user: ALICE })).status).toBe(403);
    expect((await s.put("resource-lists/users/carol@example.test/index", RL_DOC, RL_MIME, { user: ALICE })).status).toBe(403);
    expect((await s.call({ path: "org.openmobilealliance.xcap-directory/users/sip:bob@example.test/directory.xml", user: ALICE })).status).toBe(403);
    expect((await s.call({ path: BOB_RL, user: BOB })).text).toBe(bobDoc);
    expect(s.store.size).toBe(1);
  });

  it("the user's AOR in either form owns the sip: tree", async () => {
    const s = setup();
    expect((await s.put(RL, RL_DOC, RL_MIME, { user: { aor: "sip:alice@EXAMPLE.TEST" } })).status).toBe(201);
  });

  it("the global tree and generated documents are read-only: 405 Allow GET", async () => {
    const s = setup();
    for (const path of ["xcap-caps/global/index", "org.openmobilealliance.xcap-directory/users/sip:alice@example.test/directory.xml"]) {
      const p = await s.put(path, "<x/>", "application/xcap-caps+xml");
      expect(p.status).toBe(405);
      expect(p.headers.allow).toBe("GET, HEAD");
      expect((await s.del(path)).status).toBe(405);
    }
    // a usage that lives in the users tree has no global documents
    expect((await s.put("resource-lists/global/index", RL_DOC, RL_MIME)).status).toBe(404);
    expect(s.store.size).toBe(0);
  });
});
