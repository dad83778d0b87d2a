import { describe, expect, it } from "vitest";
import { validateXml } from "../../presence/xsd";
import { getPresContentIcon, servePresContentIcon, sniffImageType } from "@/lib/xcap/server";
import { ALICE, BOB, ROOT, setup, xcapErrorCondition } from "./helpers";

const RL = "resource-lists/users/sip:alice@example.test/index";
const RLS_A = "rls-services/users/sip:alice@example.test/index";
const RLS_B = "rls-services/users/sip:bob@example.test/index";
const PR = "org.openmobilealliance.pres-rules/users/sip:alice@example.test/index";
const IETF_PR = "pres-rules/users/sip:alice@example.test/index";
const PIDF = "pidf-manipulation/users/sip:alice@example.test/index";
const ICON = "org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index";
const MIME = {
  rl: "application/resource-lists+xml",
  rls: "application/rls-services+xml",
  pr: "application/auth-policy+xml",
  pidf: "application/pidf+xml",
  pc: "application/vnd.oma.pres-content+xml",
};

/** A Blink address book: addressbook elements, AG extension attributes, OMA lists. */
const BLINK_RL = `<?xml version='1.0' encoding='UTF-8'?>
<rl:resource-lists xmlns:agp-rl="urn:ag-projects:xml:ns:resource-lists" xmlns:rl="urn:ietf:params:xml:ns:resource-lists" xmlns:ab="urn:ag-projects:xml:ns:addressbook">
  <rl:list name="sipsimple_addressbook">
    <ab:group id="g1">
      <ab:name>Friends</ab:name>
      <ab:contacts><ab:contact_id>c1</ab:contact_id></ab:contacts>
    </ab:group>
    <ab:contact id="c1">
      <ab:name>Bob</ab:name>
      <ab:uris default="u1"><ab:uri id="u1" type="SIP"><ab:uri>sip:bob@example.test</ab:uri></ab:uri></ab:uris>
      <ab:dialog><ab:policy>default</ab:policy><ab:subscribe>false</ab:subscribe></ab:dialog>
      <ab:presence><ab:policy>allow</ab:policy><ab:subscribe>true</ab:subscribe></ab:presence>
      <agp-rl:attributes><agp-rl:attribute name="icon">x</agp-rl:attribute></agp-rl:attributes>
    </ab:contact>
  </rl:list>
  <rl:list name="oma_buddylist"><rl:entry uri="sip:bob@example.test"/></rl:list>
  <rl:list name="oma_grantedcontacts"><rl:entry uri="sip:bob@example.test"/></rl:list>
  <rl:list name="oma_blockedcontacts"/>
  <rl:list name="oma_allcontacts">
    <rl:external anchor="https://xcap.example.test/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22oma_buddylist%22%5D"/>
  </rl:list>
  <rl:list name="sipsimple_presence_rls"><rl:entry uri="sip:bob@example.test"/></rl:list>
</rl:resource-lists>`;

const rls = (uri: string) => `<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services">
  <service uri="${uri}">
    <resource-list>${ROOT}/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22sipsimple_presence_rls%22%5D</resource-list>
    <packages><package>presence</package></packages>
  </service>
</rls-services>`;

const OMA_RULES = `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:ocp="urn:oma:xml:xdm:common-policy">
  <cr:rule id="wp_prs_grantedcontacts">
    <cr:conditions><ocp:external-list><ocp:entry anc="${ROOT}/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22oma_grantedcontacts%22%5D"/></ocp:external-list></cr:conditions>
    <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions>
    <cr:transformations><pr:provide-services><pr:all-services/></pr:provide-services><pr:provide-persons><pr:all-persons/></pr:provide-persons><pr:provide-devices><pr:all-devices/></pr:provide-devices><pr:provide-all-attributes/></cr:transformations>
  </cr:rule>
  <cr:rule id="wp_prs_unlisted">
    <cr:conditions><ocp:other-identity/></cr:conditions>
    <cr:actions><pr:sub-handling>confirm</pr:sub-handling></cr:actions>
  </cr:rule>
  <cr:rule id="wp_prs_block_anonymous">
    <cr:conditions><ocp:anonymous-request/></cr:conditions>
    <cr:actions><pr:sub-handling>block</pr:sub-handling></cr:actions>
  </cr:rule>
  <cr:rule id="wp_prs_allow_own">
    <cr:conditions><cr:identity><cr:one id="sip:alice@example.test"/></cr:identity></cr:conditions>
    <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions>
  </cr:rule>
</cr:ruleset>`;

const PIDF_DOC = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example.test">
  <tuple id="t1"><status><basic>closed</basic></status><note>Offline</note></tuple>
  <dm:person id="p1"><rpid:activities><rpid:away/></rpid:activities></dm:person>
</presence>`;

// 1x1 PNG
const PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const GIF_B64 = "R0lGODlhAQABAIAAAAAAAP///ywAAAAAAQABAAACAUwAOw==";
const icon = (data: string, mime?: string, encoding = "base64") => `<?xml version="1.0" encoding="UTF-8"?>
<content xmlns="urn:oma:xml:prs:pres-content">${mime ? `<mime-type>${mime}</mime-type>` : ""}<encoding>${encoding}</encoding><description>me</description><data>${data}</data></content>`;

/** Every valid document here is also valid per the XSDs; every schema refusal is invalid per the XSDs. */
async function xsdValid(xml: string): Promise<boolean> {
  return (await validateXml(xml)).valid;
}

describe("resource-lists (RFC 4826 §3)", () => {
  it("stores a Blink address book byte for byte (unknown namespaces preserved) and the XSD agrees", async () => {
    const s = setup();
    expect((await s.put(RL, BLINK_RL, MIME.rl)).status).toBe(201);
    expect((await s.call({ path: RL })).text).toBe(BLINK_RL);
    expect(await xsdValid(BLINK_RL)).toBe(true);
    // a node edit elsewhere keeps the Blink elements and attributes intact
    const r = await s.put(`${RL}/~~/resource-lists/list%5B@name=%22oma_blockedcontacts%22%5D/entry%5B@uri=%22sip:eve@x%22%5D`, '<rl:entry uri="sip:eve@x"/>', "application/xcap-el+xml");
    expect(r.status).toBe(201);
    const after = (await s.call({ path: RL })).text;
    expect(after).toBe(BLINK_RL.replace('<rl:list name="oma_blockedcontacts"/>', '<rl:list name="oma_blockedcontacts"><rl:entry uri="sip:eve@x"/></rl:list>'));
  });

  const bad: Array<[string, string, string, boolean]> = [
    ["wrong root", `<lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`, "schema-validation-error", false],
    ["wrong namespace", `<resource-lists xmlns="urn:other"/>`, "schema-validation-error", false],
    ["entry without uri", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><entry/></list></resource-lists>`, "schema-validation-error", false],
    ["unknown element", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><buddy/></list></resource-lists>`, "schema-validation-error", false],
    ["an element named like an inherited property", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><constructor/><toString/></list></resource-lists>`, "schema-validation-error", false],
    ["unknown attribute", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list colour="x"/></resource-lists>`, "schema-validation-error", false],
    ["display-name after entry", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><entry uri="sip:a@x"/><display-name>x</display-name></list></resource-lists>`, "schema-validation-error", false],
    ["duplicate list name", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"/><list name="a"/></resource-lists>`, "uniqueness-failure", true],
    ["duplicate entry uri", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"><entry uri="sip:b@x"/><entry uri="sip:b@x"/></list></resource-lists>`, "uniqueness-failure", true],
    ["duplicate nested list name", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"><list name="n"/><list name="n"/></list></resource-lists>`, "uniqueness-failure", true],
    ["external anchor not HTTP", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><external anchor="sip:x@y"/></list></resource-lists>`, "constraint-failure", true],
    ["absolute entry-ref", `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><entry-ref ref="http://x/y"/></list></resource-lists>`, "constraint-failure", true],
  ];
  for (const [name, doc, condition, xsd] of bad) {
    it(`refuses ${name}: 409 ${condition}`, async () => {
      const s = setup();
      const r = await s.put(RL, doc, MIME.rl);
      expect(r.status).toBe(409);
      expect(xcapErrorCondition(r.text)).toBe(condition);
      expect(s.store.size).toBe(0);
      // schema errors are XSD-invalid too; uniqueness/constraints are beyond the XSD
      expect(await xsdValid(doc)).toBe(xsd);
    });
  }

  it("same entry in different lists and the same list name at different levels are fine", async () => {
    const s = setup();
    const doc = `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"><entry uri="sip:b@x"/><list name="a"><entry uri="sip:b@x"/></list></list><list name="b"><entry uri="sip:b@x"/></list></resource-lists>`;
    expect((await s.put(RL, doc, MIME.rl)).status).toBe(201);
  });

  it("an element PUT that would duplicate an entry is refused with uniqueness-failure", async () => {
    const s = setup();
    await s.put(RL, BLINK_RL, MIME.rl);
    const r = await s.put(`${RL}/~~/resource-lists/list%5B@name=%22oma_buddylist%22%5D/entry%5B2%5D`, '<rl:entry uri="sip:bob@example.test"/>', "application/xcap-el+xml");
    expect(xcapErrorCondition(r.text)).toBe("uniqueness-failure");
    expect((await s.call({ path: RL })).text).toBe(BLINK_RL);
  });
});

describe("rls-services (RFC 4826 §4)", () => {
  it("accepts a service and indexes its URI; the XSD agrees", async () => {
    const s = setup();
    expect((await s.put(RLS_A, rls("sip:alice+presence@example.test"), MIME.rls)).status).toBe(201);
    expect(await xsdValid(rls("sip:alice+presence@example.test"))).toBe(true);
    expect(await s.store.findServiceUriOwners(["sip:alice+presence@example.test"])).toEqual([
      { uri: "sip:alice+presence@example.test", key: { auid: "rls-services", scope: "users", xui: "sip:alice@example.test", docPath: "index" } },
    ]);
    // replacing its own document with the same URI is fine
    expect((await s.put(RLS_A, rls("sip:alice+presence@example.test"), MIME.rls)).status).toBe(200);
  });

  it("a service URI is unique across ALL users: uniqueness-failure with an alt-value", async () => {
    const s = setup();
    await s.put(RLS_A, rls("sip:alice+presence@example.test"), MIME.rls);
    const r = await s.put(RLS_B, rls("sip:alice+presence@example.test"), MIME.rls, { user: BOB });
    expect(r.status).toBe(409);
    expect(xcapErrorCondition(r.text)).toBe("uniqueness-failure");
    // the alternative offered is derived from the writer's own name
    expect(r.text).toContain('<exists field="rls-services/service/@uri"><alt-value>sip:bob+alice-presence@example.test</alt-value></exists>');
    expect(await s.store.get({ auid: "rls-services", scope: "users", xui: "sip:bob@example.test", docPath: "index" })).toBeNull();
    // the alternative is indeed free
    expect((await s.put(RLS_B, rls("sip:bob+alice-presence@example.test"), MIME.rls, { user: BOB })).status).toBe(201);
    // and across documents of the same user: a URI already derived from the owner gets a number
    const other = await s.put("rls-services/users/sip:alice@example.test/other", rls("sip:alice+presence@example.test"), MIME.rls);
    expect(xcapErrorCondition(other.text)).toBe("uniqueness-failure");
    expect(other.text).toContain("<alt-value>sip:alice+presence-2@example.test</alt-value>");
  });

  it("once a document is deleted its service URIs are free", async () => {
    const s = setup();
    await s.put(RLS_A, rls("sip:shared@example.test"), MIME.rls);
    await s.del(RLS_A);
    expect((await s.put(RLS_B, rls("sip:shared@example.test"), MIME.rls, { user: BOB })).status).toBe(201);
  });

  it("concurrent claims of one service URI by two users: exactly one wins", async () => {
    const s = setup();
    const [a, b] = await Promise.all([
      s.put(RLS_A, rls("sip:race@example.test"), MIME.rls, { user: ALICE }),
      s.put(RLS_B, rls("sip:race@example.test"), MIME.rls, { user: BOB }),
    ]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
  });

  it("refuses duplicate URIs in one document, bad structure and non-HTTP resource-list", async () => {
    const s = setup();
    const dup = `<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="sip:a@x"><list/></service><service uri="sip:a@x"><list/></service></rls-services>`;
    expect(xcapErrorCondition((await s.put(RLS_A, dup, MIME.rls)).text)).toBe("uniqueness-failure");
    const noList = `<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="sip:a@x"><packages/></service></rls-services>`;
    expect(xcapErrorCondition((await s.put(RLS_A, noList, MIME.rls)).text)).toBe("schema-validation-error");
    expect(await xsdValid(noList)).toBe(false);
    const sipList = `<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="sip:a@x"><resource-list>sip:list@x</resource-list></service></rls-services>`;
    expect(xcapErrorCondition((await s.put(RLS_A, sipList, MIME.rls)).text)).toBe("constraint-failure");
    const inline = `<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists"><service uri="sip:a@x"><list><rl:entry uri="sip:b@x"/></list><packages><package>presence</package></packages></service></rls-services>`;
    expect((await s.put(RLS_A, inline, MIME.rls)).status).toBe(201);
    expect(await xsdValid(inline)).toBe(true);
    expect(s.store.size).toBe(1);
  });
});

describe("pres-rules (RFC 5025) under the IETF and OMA auids", () => {
  it("accepts Blink's OMA rules (XSD-valid); the two auids are separate documents", async () => {
    const s = setup();
    expect(await xsdValid(OMA_RULES)).toBe(true);
    expect((await s.put(PR, OMA_RULES, MIME.pr)).status).toBe(201);
    expect((await s.call({ path: IETF_PR })).status).toBe(404);
    expect((await s.put(IETF_PR, OMA_RULES, MIME.pr)).status).toBe(201);
    expect(s.store.size).toBe(2);
  });

  it("node selectors: unprefixed names are in the pres-rules namespace, common-policy needs a binding", async () => {
    const s = setup();
    await s.put(PR, OMA_RULES, MIME.pr);
    expect((await s.call({ path: `${PR}/~~/ruleset/rule` })).status).toBe(404);
    const q = "xmlns(cr=urn:ietf:params:xml:ns:common-policy)";
    const r = await s.call({ path: `${PR}/~~/cr:ruleset/cr:rule%5B@id=%22wp_prs_unlisted%22%5D/cr:actions/sub-handling`, query: q });
    expect(r.status).toBe(200);
    expect(r.text).toBe("<pr:sub-handling>confirm</pr:sub-handling>");
    const w = await s.put(`${PR}/~~/cr:ruleset/cr:rule%5B@id=%22wp_prs_unlisted%22%5D/cr:actions/sub-handling`, "<pr:sub-handling>polite-block</pr:sub-handling>", "application/xcap-el+xml", { query: q });
    expect(w.status).toBe(200);
    const bad = await s.put(`${PR}/~~/cr:ruleset/cr:rule%5B@id=%22wp_prs_unlisted%22%5D/cr:actions/sub-handling`, "<pr:sub-handling>maybe</pr:sub-handling>", "application/xcap-el+xml", { query: q });
    expect(xcapErrorCondition(bad.text)).toBe("schema-validation-error");
  });

  const bad: Array<[string, string, string]> = [
    ["duplicate rule id", `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"><rule id="a"/><rule id="a"/></ruleset>`, "schema-validation-error"],
    ["rule without id", `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"><rule/></ruleset>`, "schema-validation-error"],
    ["bad sub-handling", `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><rule id="a"><actions><pr:sub-handling>yes</pr:sub-handling></actions></rule></ruleset>`, "schema-validation-error"],
    ["one without id", `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"><rule id="a"><conditions><identity><one/></identity></conditions></rule></ruleset>`, "schema-validation-error"],
    ["actions before conditions", `<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"><rule id="a"><actions/><conditions/></rule></ruleset>`, "schema-validation-error"],
    ["pres-rules root", `<ruleset xmlns="urn:ietf:params:xml:ns:pres-rules"/>`, "schema-validation-error"],
  ];
  for (const [name, doc, condition] of bad) {
    it(`refuses ${name}`, async () => {
      const s = setup();
      const r = await s.put(IETF_PR, doc, MIME.pr);
      expect(xcapErrorCondition(r.text)).toBe(condition);
      expect(s.store.size).toBe(0);
      expect(await xsdValid(doc)).toBe(false);
    });
  }
});

describe("pidf-manipulation (RFC 4827)", () => {
  it("accepts a PIDF with data-model extensions (XSD-valid)", async () => {
    const s = setup();
    expect((await s.put(PIDF, PIDF_DOC, MIME.pidf)).status).toBe(201);
    expect(await xsdValid(PIDF_DOC)).toBe(true);
  });

  for (const [name, doc] of [
    ["no entity", `<presence xmlns="urn:ietf:params:xml:ns:pidf"/>`],
    ["tuple without status", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><tuple id="t"/></presence>`],
    ["bad basic", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><tuple id="t"><status><basic>maybe</basic></status></tuple></presence>`],
    ["duplicate ids", `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><tuple id="t"><status/></tuple><tuple id="t"><status/></tuple></presence>`],
  ] as const) {
    it(`refuses ${name}`, async () => {
      const s = setup();
      expect(xcapErrorCondition((await s.put(PIDF, doc, MIME.pidf)).text)).toBe("schema-validation-error");
      expect(await xsdValid(doc)).toBe(false);
    });
  }
});

describe("pres-content icon (OMA)", () => {
  it("stores a PNG icon; anyone may read it; the decoded icon can be served", async () => {
    const s = setup();
    const doc = icon(PNG_B64, "image/png");
    expect(await xsdValid(doc)).toBe(true);
    expect((await s.put(ICON, doc, MIME.pc)).status).toBe(201);
    const anon = await s.call({ path: ICON, user: null });
    expect(anon.status).toBe(200);
    expect(anon.headers["content-type"]).toBe(MIME.pc);
    expect((await s.call({ path: ICON, user: BOB })).status).toBe(200);
    expect((await s.put(ICON, doc, MIME.pc, { user: BOB })).status).toBe(403);
    const got = await getPresContentIcon(s.store, "alice@example.test");
    expect(got!.mimeType).toBe("image/png");
    expect(sniffImageType(got!.data)).toBe("image/png");
    const served = await servePresContentIcon(s.store, "sip:alice@example.test");
    expect(served.status).toBe(200);
    expect(served.headers["content-type"]).toBe("image/png");
    expect(served.body.byteLength).toBe(got!.data.byteLength);
    expect((await servePresContentIcon(s.store, "sip:alice@example.test", { "if-none-match": served.headers.etag })).status).toBe(304);
    expect((await servePresContentIcon(s.store, "sip:bob@example.test")).status).toBe(404);
  });

  it("mime-type is checked against the decoded bytes; size bounded; bad base64 refused", async () => {
    const s = setup();
    expect(xcapErrorCondition((await s.put(ICON, icon(PNG_B64, "image/gif"), MIME.pc)).text)).toBe("constraint-failure");
    expect(xcapErrorCondition((await s.put(ICON, icon(PNG_B64, "image/svg+xml"), MIME.pc)).text)).toBe("constraint-failure");
    expect(xcapErrorCondition((await s.put(ICON, icon(btoa("<svg/>")), MIME.pc)).text)).toBe("constraint-failure");
    expect(xcapErrorCondition((await s.put(ICON, icon("!!!not base64"), MIME.pc)).text)).toBe("constraint-failure");
    expect(xcapErrorCondition((await s.put(ICON, icon(PNG_B64, "image/png", "quoted-printable"), MIME.pc)).text)).toBe("constraint-failure");
    const big = new Uint8Array(257 * 1024);
    big.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    let bin = "";
    for (const b of big) bin += String.fromCharCode(b);
    expect(xcapErrorCondition((await s.put(ICON, icon(btoa(bin), "image/png"), MIME.pc)).text)).toBe("constraint-failure");
    expect(xcapErrorCondition((await s.put(ICON, `<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/png</mime-type></content>`, MIME.pc)).text)).toBe("schema-validation-error");
    expect(s.store.size).toBe(0);
    expect((await s.put(ICON, icon(GIF_B64), MIME.pc)).status).toBe(201);
  });
});

describe("xcap-caps and xcap-directory (generated, read-only)", () => {
  it("xcap-caps lists every registered auid and namespace and is XSD-valid", async () => {
    const s = setup();
    const r = await s.call({ path: "xcap-caps/global/index" });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/xcap-caps+xml");
    for (const auid of ["xcap-caps", "resource-lists", "rls-services", "pres-rules", "org.openmobilealliance.pres-rules", "pidf-manipulation", "org.openmobilealliance.xcap-directory", "org.openmobilealliance.pres-content"]) {
      expect(r.text).toContain(`<auid>${auid}</auid>`);
    }
    expect(r.text).toContain("<namespace>urn:ietf:params:xml:ns:common-policy</namespace>");
    expect(await xsdValid(r.text)).toBe(true);
    expect((await s.call({ path: "xcap-caps/global/index/~~/xcap-caps/auids/auid%5B2%5D" })).text).toBe("<auid>resource-lists</auid>");
    expect((await s.call({ path: "xcap-caps/global/index", headers: { "if-none-match": r.headers.etag! } })).status).toBe(304);
    expect((await s.call({ path: "xcap-caps/global/other" })).status).toBe(404);
    expect((await s.call({ path: "xcap-caps/users/sip:alice@example.test/index" })).status).toBe(404);
  });

  it("xcap-directory lists the user's own documents with their ETags", async () => {
    const s = setup();
    const e1 = (await s.put(RL, BLINK_RL, MIME.rl)).headers.etag!.slice(1, -1);
    await s.put(PR, OMA_RULES, MIME.pr);
    await s.put(RLS_B, rls("sip:bob+presence@example.test"), MIME.rls, { user: BOB });
    const d = await s.call({ path: "org.openmobilealliance.xcap-directory/users/sip:alice@example.test/directory.xml" });
    expect(d.status).toBe(200);
    expect(d.headers["content-type"]).toBe("application/vnd.oma.xcap-directory+xml");
    expect(d.text).toContain(`<entry uri="${ROOT}/resource-lists/users/sip:alice@example.test/index" etag="${e1}"`);
    expect(d.text).toContain(`${ROOT}/org.openmobilealliance.pres-rules/users/sip:alice@example.test/index`);
    expect(d.text).not.toContain("bob");
    expect(await xsdValid(d.text)).toBe(true);
    const folder = await s.call({ path: "org.openmobilealliance.xcap-directory/users/sip:alice@example.test/directory.xml/~~/xcap-directory/folder%5B@auid=%22resource-lists%22%5D/entry/@etag" });
    expect(folder.text).toBe(e1);
  });
});
