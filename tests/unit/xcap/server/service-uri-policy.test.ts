/**
 * ISSUE-11 item 6 in the XCAP core: rls-services service URIs that an injected `isUriTaken`
 * check reports (accounts' AORs, URIs derived from other accounts) are refused with 409
 * uniqueness-failure (RFC 4826 §4.4.7, RFC 4825 §11) by document, element and attribute PUT, and
 * nothing changes. The check itself (accounts) is lib/server/account-directory.ts.
 */
import { describe, expect, it } from "vitest";
import { MemoryAccountDirectory, accountOwningUri, serviceUriTaken } from "@/lib/server/account-directory";
import { ALICE, ATT_MIME, EL_MIME, setup, xcapErrorCondition } from "./helpers";

const RLS = "rls-services/users/sip:alice@example.test/index";
const MIME = "application/rls-services+xml";
const rls = (...uris: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<rls-services xmlns="urn:ietf:params:xml:ns:rls-services">${uris.map((u) => `<service uri="${u}"><list/></service>`).join("")}</rls-services>`;
const svcSel = (s: string) => `${RLS}/~~/${s.replace(/\[/g, "%5B").replace(/\]/g, "%5D").replace(/"/g, "%22")}`;

function accounts() {
  return new MemoryAccountDirectory().addDomain("example.test").addAccount("alice", "example.test", "pw-alice-1").addAccount("bob", "example.test", "pw-bob-1").addAccount("bob+work", "example.test", "pw-bw-1", { disabled: true });
}

describe("accountOwningUri / serviceUriTaken", () => {
  it("an account's AOR (any case, sips, Blink-quoted) is that account's; `<account>+tag` is derived from it, longest name first", async () => {
    const a = accounts();
    expect(await accountOwningUri(a, "sip:bob@example.test")).toEqual({ aor: "sip:bob@example.test", exact: true });
    expect(await accountOwningUri(a, "sips:Bob@EXAMPLE.test;transport=tls")).toEqual({ aor: "sip:bob@example.test", exact: true });
    expect(await accountOwningUri(a, "sip:bob+presence@example.test")).toEqual({ aor: "sip:bob@example.test", exact: false });
    expect(await accountOwningUri(a, "sip:bob+work+presence@example.test")).toEqual({ aor: "sip:bob+work@example.test", exact: false });
    expect(await accountOwningUri(a, "sip:bob+work@example.test")).toEqual({ aor: "sip:bob+work@example.test", exact: true });
    expect(await accountOwningUri(a, "sip:friends@example.test")).toBeUndefined();
    expect(await accountOwningUri(a, "sip:bob@elsewhere.test")).toBeUndefined();
    expect(await accountOwningUri(a, "tel:+123")).toBeUndefined();
  });

  it("taken for alice: every account's AOR (her own too) and URIs derived from others; free: her own derived URIs", async () => {
    const taken = serviceUriTaken(accounts());
    expect(await taken("sip:bob@example.test", "sip:alice@example.test")).toBe(true);
    expect(await taken("sip:alice@example.test", "sip:alice@example.test")).toBe(true);
    expect(await taken("sip:bob+presence@example.test", "sip:alice@example.test")).toBe(true);
    expect(await taken("sip:alice+presence@example.test", "sip:alice@example.test")).toBe(false);
    expect(await taken("sip:friends@example.test", "sip:alice@example.test")).toBe(false);
  });
});

describe("the XCAP core refuses taken service URIs", () => {
  const withPolicy = () => setup({ isUriTaken: serviceUriTaken(accounts()) });
  const SERVICE_FIELD = '<exists field="rls-services/service/@uri">';

  it("document PUT claiming bob's AOR → 409 uniqueness-failure with an alternative; nothing stored", async () => {
    const s = withPolicy();
    const r = await s.put(RLS, rls("sip:alice+presence@example.test", "sip:bob@example.test"), MIME);
    expect(r.status).toBe(409);
    expect(r.headers["content-type"]).toBe("application/xcap-error+xml");
    expect(xcapErrorCondition(r.text)).toBe("uniqueness-failure");
    expect(r.text).toContain(`<uniqueness-failure phrase="service URI already in use: sip:bob@example.test">${SERVICE_FIELD}<alt-value>sip:alice+bob@example.test</alt-value></exists></uniqueness-failure>`);
    expect(s.store.size).toBe(0);
    expect(await s.store.findServiceUriOwners(["sip:bob@example.test", "sip:alice+presence@example.test"])).toEqual([]);
    expect(s.events).toHaveLength(0);
  });

  it("her own AOR and bob's list URI are refused too; her own derived URIs and other names pass", async () => {
    const s = withPolicy();
    for (const uri of ["sip:alice@example.test", "sip:bob+presence@example.test", "sip%3Abob%40example.test"]) {
      const r = await s.put(RLS, rls(uri), MIME);
      expect(r.status, uri).toBe(409);
      expect(xcapErrorCondition(r.text)).toBe("uniqueness-failure");
      expect(r.text).toContain(SERVICE_FIELD);
    }
    expect((await s.put(RLS, rls("sip:alice+presence@example.test", "sip:friends@example.test"), MIME)).status).toBe(201);
  });

  it("element PUT adding a service on bob's AOR, and attribute PUT renaming one to it → 409; the document is unchanged", async () => {
    const s = withPolicy();
    expect((await s.put(RLS, rls("sip:alice+presence@example.test"), MIME)).status).toBe(201);
    const before = (await s.call({ path: RLS })).text;
    const el = await s.put(svcSel('rls-services/service[@uri="sip:bob@example.test"]'), '<service uri="sip:bob@example.test"><list/></service>', EL_MIME);
    expect(el.status).toBe(409);
    expect(xcapErrorCondition(el.text)).toBe("uniqueness-failure");
    expect(el.text).toContain(SERVICE_FIELD);
    const att = await s.put(svcSel("rls-services/service/@uri"), "sip:bob@example.test", ATT_MIME);
    expect(att.status).toBe(409);
    expect(xcapErrorCondition(att.text)).toBe("uniqueness-failure");
    expect((await s.call({ path: RLS })).text).toBe(before);
    expect(await s.store.findServiceUriOwners(["sip:bob@example.test"])).toEqual([]);
    expect(s.events).toHaveLength(1);
  });

  it("a URI an older document holds wrongly (bob's list URI in alice's) moves to bob's document when bob writes it", async () => {
    const s = withPolicy();
    // alice's document as an older Herald stored it
    const legacy = rls("sip:bob+presence@example.test");
    const aliceKey = { auid: "rls-services", scope: "users" as const, xui: "sip:alice@example.test", docPath: "index" };
    expect((await s.store.put(aliceKey, { content: legacy, etag: "legacy", serviceUris: ["sip:bob+presence@example.test"] }, null)).ok).toBe(true);
    const BOB_RLS = "rls-services/users/sip:bob@example.test/index";
    expect((await s.put(BOB_RLS, rls("sip:bob+presence@example.test"), MIME, { user: { aor: "bob@example.test" } })).status).toBe(201);
    expect(await s.store.findServiceUriOwners(["sip:bob+presence@example.test"])).toEqual([
      { uri: "sip:bob+presence@example.test", key: { ...aliceKey, xui: "sip:bob@example.test" } },
    ]);
    // alice cannot take it back, and deleting her document leaves bob's claim alone
    expect(xcapErrorCondition((await s.put(RLS, legacy, MIME)).text)).toBe("uniqueness-failure");
    expect((await s.del(RLS)).status).toBe(200);
    expect((await s.store.findServiceUriOwners(["sip:bob+presence@example.test"]))[0]?.key.xui).toBe("sip:bob@example.test");
  });

  it("without the hook (no accounts known) the core keeps its old behaviour", async () => {
    const s = setup();
    expect((await s.put(RLS, rls("sip:bob@example.test"), MIME, { user: ALICE })).status).toBe(201);
  });
});
