import { describe, expect, it } from "vitest";
import { ATT_MIME, EL_MIME, RL, RL_DOC, RL_MIME, ROOT, sel, setup, xcapErrorCondition } from "./helpers";

const F = 'resource-lists/list[@name="friends"]';

describe("documents: GET / PUT / DELETE (RFC 4825 §7.3, §8)", () => {
  it("PUT creates (201), PUT again replaces (200), GET returns the exact bytes with ETag and MIME type", async () => {
    const s = setup();
    const c = await s.put(RL, RL_DOC, RL_MIME);
    expect(c.status).toBe(201);
    expect(c.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const g = await s.call({ path: RL });
    expect(g.status).toBe(200);
    expect(g.headers["content-type"]).toBe(RL_MIME);
    expect(g.headers.etag).toBe(c.headers.etag);
    expect(g.text).toBe(RL_DOC);
    const changed = RL_DOC.replace("family", "work");
    const r = await s.put(RL, changed, RL_MIME);
    expect(r.status).toBe(200);
    expect(r.headers.etag).not.toBe(c.headers.etag);
    expect(s.events.map((e) => e.action)).toEqual(["create", "replace"]);
    expect(s.events[1]).toMatchObject({ user: "sip:alice@example.test", auid: "resource-lists", document: "index", etag: r.headers.etag!.slice(1, -1), previousEtag: c.headers.etag!.slice(1, -1) });
  });

  it("both XUI forms address the same document", async () => {
    const s = setup();
    await s.put("resource-lists/users/alice@example.test/index", RL_DOC, RL_MIME);
    expect((await s.call({ path: RL })).text).toBe(RL_DOC);
    expect(s.store.size).toBe(1);
  });

  it("GET of a missing document, node or attribute is 404", async () => {
    const s = setup();
    expect((await s.call({ path: RL })).status).toBe(404);
    await s.put(RL, RL_DOC, RL_MIME);
    expect((await s.call({ path: sel(`${F}/entry[@uri="sip:nobody@x"]`) })).status).toBe(404);
    expect((await s.call({ path: sel(`${F}/@missing`) })).status).toBe(404);
    expect((await s.call({ path: sel(`${F}/entry`) })).status).toBe(404); // two entries: not a single element
    expect((await s.call({ path: "resource-lists/users/sip:alice@example.test/other" })).status).toBe(404);
    expect((await s.call({ path: "no-such-auid/users/sip:alice@example.test/index" })).status).toBe(404);
  });

  it("DELETE removes a document (200), then 404", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    expect((await s.del(RL)).status).toBe(200);
    expect(s.store.size).toBe(0);
    expect((await s.call({ path: RL })).status).toBe(404);
    expect((await s.del(RL)).status).toBe(404);
    expect(s.events.at(-1)).toMatchObject({ action: "delete", etag: null });
  });

  it("HEAD is GET without a body", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    const h = await s.call({ method: "HEAD", path: RL });
    expect(h.status).toBe(200);
    expect(h.body.byteLength).toBe(0);
    expect(h.headers.etag).toBeDefined();
  });

  it("other methods get 405 with Allow", async () => {
    const s = setup();
    for (const m of ["POST", "PATCH", "OPTIONS"]) {
      const r = await s.call({ method: m, path: RL });
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe("GET, PUT, DELETE, HEAD");
    }
  });
});

describe("element and attribute resources", () => {
  it("GET element returns it as in the document, attribute values escaped, namespace bindings in scope", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    const e = await s.call({ path: sel(`${F}/entry[@uri="sip:bob@example.test"]`) });
    expect(e.status).toBe(200);
    expect(e.headers["content-type"]).toBe(EL_MIME);
    expect(e.text).toBe(`<entry uri="sip:bob@example.test">\n      <display-name>Bob</display-name>\n    </entry>`);
    const a = await s.call({ path: sel(`${F}/entry[2]/@uri`) });
    expect(a.headers["content-type"]).toBe(ATT_MIME);
    expect(a.text).toBe("sip:carol@example.test");
    const x = await s.call({ path: sel(`${F}/entry[2]/@x:colour`), query: "xmlns(x=urn:example:ext)" });
    expect(x.text).toBe("blue");
    const n = await s.call({ path: sel(`${F}/namespace::*`) });
    expect(n.headers["content-type"]).toBe("application/xcap-ns+xml");
    expect(n.text).toBe('<list xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:ext"/>');
    const w = await s.call({ path: sel(`*/*[2]`) });
    expect(w.text).toBe('<list name="family"/>');
  });

  it("an unbound prefix in the selector is 400", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    expect((await s.call({ path: sel(`${F}/entry[2]/@x:colour`) })).status).toBe(400);
  });

  it("element PUT creates (201) after the last sibling, replaces (200) in place, keeps unknown content", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    const c = await s.put(sel(`${F}/entry[@uri="sip:dave@example.test"]`), '<entry uri="sip:dave@example.test"><display-name>Dave</display-name></entry>', EL_MIME);
    expect(c.status).toBe(201);
    expect((await s.call({ path: sel(`${F}/entry[3]/@uri`) })).text).toBe("sip:dave@example.test");
    const r = await s.put(sel(`${F}/entry[@uri="sip:bob@example.test"]`), '<entry uri="sip:bob@example.test"><display-name>Robert</display-name></entry>', EL_MIME);
    expect(r.status).toBe(200);
    const doc = (await s.call({ path: RL })).text;
    expect(doc.indexOf("Robert")).toBeLessThan(doc.indexOf("Carol"));
    expect(doc).toContain('x:colour="blue"');
    expect(doc).toContain("<x:note>keep me</x:note>");
    expect(doc.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(s.events.map((e) => [e.action, e.nodeSelector])).toEqual([
      ["create", null],
      ["replace", `${F}/entry[@uri="sip:dave@example.test"]`],
      ["replace", `${F}/entry[@uri="sip:bob@example.test"]`],
    ]);
  });

  it("element PUT may use prefixes bound in the document", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    const r = await s.put(sel(`${F}/entry[@uri="sip:e@x"]`), '<entry uri="sip:e@x"><x:note>n</x:note></entry>', EL_MIME);
    expect(r.status).toBe(201);
    expect((await s.call({ path: RL })).text).toContain('<entry uri="sip:e@x"><x:note>n</x:note></entry>');
  });

  it("positional insertion: [n] with n-1 existing siblings inserts, beyond that 409 cannot-insert", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    const ok = await s.put(sel(`${F}/entry[3]`), '<entry uri="sip:third@x"/>', EL_MIME);
    expect(ok.status).toBe(201);
    const bad = await s.put(sel(`${F}/entry[5]`), '<entry uri="sip:fifth@x"/>', EL_MIME);
    expect(bad.status).toBe(409);
    expect(bad.headers["content-type"]).toBe("application/xcap-error+xml");
    expect(xcapErrorCondition(bad.text)).toBe("cannot-insert");
    // [n][@a] when the n-th sibling has another value: inserted as the n-th
    const mid = await s.put(sel(`${F}/entry[1][@uri="sip:first@x"]`), '<entry uri="sip:first@x"/>', EL_MIME);
    expect(mid.status).toBe(201);
    expect((await s.call({ path: sel(`${F}/entry[1]/@uri`) })).text).toBe("sip:first@x");
    expect((await s.call({ path: sel(`${F}/entry[2]/@uri`) })).text).toBe("sip:bob@example.test");
  });

  it("GET-after-PUT idempotency (§8.2.5): body not selected by the URI → 409 cannot-insert, nothing stored", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    const before = (await s.call({ path: RL })).text;
    for (const [selector, body] of [
      [`${F}/entry[@uri="sip:x@x"]`, '<entry uri="sip:y@x"/>'],
      [`${F}/entry[@uri="sip:x@x"]`, '<external anchor="http://h/x"/>'],
      [`${F}/entry[@uri="sip:bob@example.test"]`, '<entry uri="sip:other@x"/>'],
      [`resource-lists/list[@name="new"]`, '<list name="other"/>'],
    ] as const) {
      const r = await s.put(sel(selector), body, EL_MIME);
      expect(r.status, selector).toBe(409);
      expect(xcapErrorCondition(r.text)).toBe("cannot-insert");
    }
    expect((await s.call({ path: RL })).text).toBe(before);
  });

  it("element PUT below a missing parent: 409 no-parent naming the closest existing ancestor", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    const r = await s.put(sel(`resource-lists/list[@name="nope"]/list[@name="deeper"]/entry[@uri="sip:a@x"]`), '<entry uri="sip:a@x"/>', EL_MIME);
    expect(r.status).toBe(409);
    expect(xcapErrorCondition(r.text)).toBe("no-parent");
    expect(r.text).toContain(`<ancestor>${ROOT}/${RL}/~~/resource-lists</ancestor>`);
    const r2 = await s.put(sel(`x/y`), "<y/>", EL_MIME);
    expect(r2.text).toContain(`<ancestor>${ROOT}/${RL}</ancestor>`);
  });

  it("element and attribute PUT into a missing document: 409 no-parent (§8.2.1); node DELETE there is 404", async () => {
    const s = setup();
    const el = await s.put(sel(`${F}/entry[@uri="sip:a@x"]`), '<entry uri="sip:a@x"/>', EL_MIME);
    expect(el.status).toBe(409);
    expect(el.headers["content-type"]).toBe("application/xcap-error+xml");
    expect(xcapErrorCondition(el.text)).toBe("no-parent");
    const att = await s.put(sel(`${F}/@name`), '"friends"', ATT_MIME);
    expect(att.status).toBe(409);
    expect(xcapErrorCondition(att.text)).toBe("no-parent");
    expect((await s.del(sel(`${F}`))).status).toBe(404);
    expect(s.store.size).toBe(0);
    expect(s.events).toHaveLength(0);
  });

  it("element PUT without a position inserts after the last sibling of the same name, not at the end (§7.4, §8.2.3)", async () => {
    const s = setup();
    const doc = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list name="friends">
    <entry uri="sip:bob@example.test"/>
    <entry uri="sip:carol@example.test"/>
    <external anchor="https://xcap.example.test/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5b@name=%22b%22%5d"/>
  </list>
  <list name="family"/>
</resource-lists>
`;
    await s.put(RL, doc, RL_MIME);
    expect((await s.put(sel(`${F}/entry[@uri="sip:dave@example.test"]`), '<entry uri="sip:dave@example.test"/>', EL_MIME)).status).toBe(201);
    const after = (await s.call({ path: RL })).text;
    expect(after).toContain('<entry uri="sip:carol@example.test"/><entry uri="sip:dave@example.test"/>\n    <external');
    expect((await s.call({ path: sel(`${F}/*[3]/@uri`) })).text).toBe("sip:dave@example.test");
    // a name with no sibling yet still goes after the last element child
    expect((await s.put(sel(`${F}/entry-ref[@ref="a/b"]`), '<entry-ref ref="a/b"/>', EL_MIME)).status).toBe(201);
    expect((await s.call({ path: sel(`${F}/*[5]/@ref`) })).text).toBe("a/b");
  });

  it("element PUT body must be exactly one well-formed element: 409 not-xml-frag", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    for (const body of ['<entry uri="sip:a@x">', '<entry uri="sip:a@x"/><entry uri="sip:b@x"/>', "text", "", '<entry uri="sip:a@x"/>tail', '<y:entry uri="sip:a@x"/>']) {
      const r = await s.put(sel(`${F}/entry[@uri="sip:a@x"]`), body, EL_MIME);
      expect(r.status, body).toBe(409);
      expect(xcapErrorCondition(r.text), body).toBe("not-xml-frag");
    }
  });

  it("attribute PUT creates (201) / replaces (200); bad values → 409 not-xml-att-value; missing element → no-parent", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    const c = await s.put(sel(`resource-lists/list[@name="family"]/@x:tag`), "a &amp; b", ATT_MIME, { query: "xmlns(x=urn:example:ext)" });
    expect(c.status).toBe(201);
    expect((await s.call({ path: RL })).text).toContain('<list name="family" x:tag="a &amp; b"/>');
    const c2 = await s.put(sel(`resource-lists/list[@name="family"]/@y:tag`), "v", ATT_MIME, { query: "xmlns(y=urn:new)" });
    expect(c2.status).toBe(201);
    expect((await s.call({ path: RL })).text).toContain('xmlns:y="urn:new" y:tag="v"');
    const r = await s.put(sel(`${F}/entry[1]/@uri`), "sip:robert@example.test", ATT_MIME);
    expect(r.status).toBe(200);
    for (const bad of ["a<b", "a & b", "&nope;"]) {
      const b = await s.put(sel(`${F}/entry[1]/@uri`), bad, ATT_MIME);
      expect(xcapErrorCondition(b.text), bad).toBe("not-xml-att-value");
    }
    const np = await s.put(sel(`resource-lists/list[@name="zzz"]/@name`), "q", ATT_MIME);
    expect(xcapErrorCondition(np.text)).toBe("no-parent");
    // changing the attribute the URI selects on: no longer selected → cannot-insert
    const ci = await s.put(sel(`resource-lists/list[@name="family"]/@name`), "kin", ATT_MIME);
    expect(xcapErrorCondition(ci.text)).toBe("cannot-insert");
  });

  it("element and attribute DELETE, with the idempotency check (§8.3.5 cannot-delete)", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    // entry[1] would select the next entry afterwards
    const cd = await s.del(sel(`${F}/entry[1]`));
    expect(cd.status).toBe(409);
    expect(xcapErrorCondition(cd.text)).toBe("cannot-delete");
    const d = await s.del(sel(`${F}/entry[@uri="sip:bob@example.test"]`));
    expect(d.status).toBe(200);
    expect(d.headers.etag).toBeDefined();
    expect((await s.call({ path: sel(`${F}/entry[@uri="sip:bob@example.test"]`) })).status).toBe(404);
    expect((await s.del(sel(`${F}/entry[@uri="sip:bob@example.test"]`))).status).toBe(404);
    const last = await s.del(sel(`${F}/entry[1]`)); // now the only entry
    expect(last.status).toBe(200);
    const da = await s.del(sel(`resource-lists/list[@name="family"]/@name`));
    expect(da.status).toBe(200);
    expect((await s.call({ path: RL })).text).toContain("<list/>");
    // deleting a required attribute fails validation
    await s.put(sel(`${F}/entry[@uri="sip:z@x"]`), '<entry uri="sip:z@x"/>', EL_MIME);
    const req = await s.del(sel(`${F}/entry/@uri`));
    expect(xcapErrorCondition(req.text)).toBe("schema-validation-error");
    const root = await s.del(sel(`resource-lists`));
    expect(xcapErrorCondition(root.text)).toBe("cannot-delete");
  });

  it("namespace bindings are read-only: 405 Allow GET", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    const r = await s.put(sel(`${F}/namespace::*`), "<list/>", EL_MIME);
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe("GET, HEAD");
    expect((await s.del(sel(`${F}/namespace::*`))).status).toBe(405);
  });
});

describe("ETags and preconditions (RFC 4825 §7.11, RFC 7232)", () => {
  async function ready() {
    const s = setup();
    const etag = (await s.put(RL, RL_DOC, RL_MIME)).headers.etag!;
    return { s, etag };
  }

  it("If-None-Match with the current ETag → 304 on GET (document and node), 412 on PUT/DELETE", async () => {
    const { s, etag } = await ready();
    expect((await s.call({ path: RL, headers: { "if-none-match": etag } })).status).toBe(304);
    expect((await s.call({ path: sel(F), headers: { "if-none-match": `"x", ${etag}` } })).status).toBe(304);
    expect((await s.call({ path: RL, headers: { "if-none-match": `W/${etag}` } })).status).toBe(304);
    expect((await s.call({ path: RL, headers: { "if-none-match": '"other"' } })).status).toBe(200);
    expect((await s.put(RL, RL_DOC, RL_MIME, { headers: { "if-none-match": etag } })).status).toBe(412);
    expect((await s.del(RL, { headers: { "if-none-match": etag } })).status).toBe(412);
  });

  it("If-Match: stale → 412 and nothing changes; current → success; weak never matches", async () => {
    const { s, etag } = await ready();
    const stale = await s.put(RL, RL_DOC.replace("family", "x"), RL_MIME, { headers: { "if-match": '"stale-etag"' } });
    expect(stale.status).toBe(412);
    expect(stale.headers.etag).toBe(etag);
    expect((await s.put(RL, RL_DOC, RL_MIME, { headers: { "if-match": `W/${etag}` } })).status).toBe(412);
    expect((await s.del(RL, { headers: { "if-match": '"nope"' } })).status).toBe(412);
    expect((await s.put(sel(`${F}/entry[@uri="sip:q@x"]`), '<entry uri="sip:q@x"/>', EL_MIME, { headers: { "if-match": '"nope"' } })).status).toBe(412);
    expect((await s.call({ path: RL })).headers.etag).toBe(etag);
    expect(s.events).toHaveLength(1);
    const ok = await s.put(sel(`${F}/entry[@uri="sip:q@x"]`), '<entry uri="sip:q@x"/>', EL_MIME, { headers: { "if-match": etag } });
    expect(ok.status).toBe(201);
  });

  it("If-Match: * needs an existing resource; If-None-Match: * creates only", async () => {
    const s = setup();
    expect((await s.put(RL, RL_DOC, RL_MIME, { headers: { "if-match": "*" } })).status).toBe(412);
    expect(s.store.size).toBe(0);
    expect((await s.put(RL, RL_DOC, RL_MIME, { headers: { "if-none-match": "*" } })).status).toBe(201);
    expect((await s.put(RL, RL_DOC, RL_MIME, { headers: { "if-none-match": "*" } })).status).toBe(412);
    expect((await s.put(RL, RL_DOC, RL_MIME, { headers: { "if-match": "*" } })).status).toBe(200);
    // on nodes "*" is about the node
    expect((await s.put(sel(`${F}/entry[@uri="sip:n@x"]`), '<entry uri="sip:n@x"/>', EL_MIME, { headers: { "if-none-match": "*" } })).status).toBe(201);
    expect((await s.put(sel(`${F}/entry[@uri="sip:n@x"]`), '<entry uri="sip:n@x"/>', EL_MIME, { headers: { "if-none-match": "*" } })).status).toBe(412);
    // the quoted "*" is an entity tag, not the wildcard (Kamailio treats it as one)
    expect((await s.put(RL, RL_DOC, RL_MIME, { headers: { "if-match": '"*"' } })).status).toBe(412);
  });

  it("a node write changes the document ETag; GET of any node carries the document ETag", async () => {
    const { s, etag } = await ready();
    const w = await s.put(sel(`${F}/@x:flag`), "1", ATT_MIME, { query: "xmlns(x=urn:example:ext)" });
    expect(w.headers.etag).not.toBe(etag);
    expect((await s.call({ path: sel(`${F}/entry[1]`) })).headers.etag).toBe(w.headers.etag);
  });
});

describe("concurrency: compare-and-set, no lost updates", () => {
  it("concurrent element PUTs without preconditions all land", async () => {
    const s = setup();
    await s.put(RL, RL_DOC, RL_MIME);
    const n = 6;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => s.put(sel(`${F}/entry[@uri="sip:c${i}@x"]`), `<entry uri="sip:c${i}@x"/>`, EL_MIME)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(n).fill(201));
    const doc = (await s.call({ path: RL })).text;
    for (let i = 0; i < n; i++) expect(doc).toContain(`sip:c${i}@x`);
  });

  it("concurrent conditional PUTs with the same If-Match: exactly one wins", async () => {
    const s = setup();
    const etag = (await s.put(RL, RL_DOC, RL_MIME)).headers.etag!;
    const results = await Promise.all(
      [1, 2, 3].map((i) => s.put(RL, RL_DOC.replace("family", `f${i}`), RL_MIME, { headers: { "if-match": etag } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 412, 412]);
  });
});

describe("MIME types", () => {
  it("415 for a wrong Content-Type on document, element and attribute PUT; nothing stored", async () => {
    const s = setup();
    for (const ct of ["application/xml", "text/plain", "", "application/xcap-el+xml", "application/resource-lists+xml; charset=iso-8859-1"]) {
      expect((await s.put(RL, RL_DOC, ct)).status, ct).toBe(415);
    }
    expect(s.store.size).toBe(0);
    expect((await s.put(RL, RL_DOC, "Application/Resource-Lists+XML; charset=UTF-8")).status).toBe(201);
    expect((await s.put(sel(`${F}/entry[@uri="sip:m@x"]`), '<entry uri="sip:m@x"/>', RL_MIME)).status).toBe(415);
    expect((await s.put(sel(`${F}/@name`), "x", EL_MIME)).status).toBe(415);
  });

  it("each application usage has its own document MIME type", async () => {
    const s = setup();
    const cases: Array<[string, string, string]> = [
      ["rls-services/users/sip:alice@example.test/index", "application/rls-services+xml", '<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"/>'],
      ["pres-rules/users/sip:alice@example.test/index", "application/auth-policy+xml", '<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"/>'],
      ["org.openmobilealliance.pres-rules/users/sip:alice@example.test/index", "application/auth-policy+xml", '<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"/>'],
      ["pidf-manipulation/users/sip:alice@example.test/index", "application/pidf+xml", '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.test"/>'],
    ];
    for (const [path, mime, body] of cases) {
      expect((await s.put(path, body, RL_MIME)).status, path).toBe(415);
      expect((await s.put(path, body, mime)).status, path).toBe(201);
      expect((await s.call({ path })).headers["content-type"]).toBe(mime);
    }
  });
});
