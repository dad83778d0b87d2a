/**
 * The optional identity-rules mirror (XCAP_IDENTITY_RULES): the address book's policy restated in
 * the IETF pres-rules document as inline identities, for Kamailio / OpenSIPS presence_xml.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseXml, serializeXml } from "../../../../lib/xml";
import { XcapClient, computeHa1 } from "../../../../lib/xcap/client";
import { AddressBook, mirrorIdentityRules, parseAddressBook } from "../../../../lib/xcap/addressbook";
import { evaluatePresRules, parsePresRules } from "../../../../lib/presence";
import { TestXcapServer } from "../client/test-server";
import { ROOT } from "./helpers";
import { xsdErrors } from "./xsd";

const XUI = "sip:alice@example.test";
const IETF = `/pres-rules/users/${XUI}/index`;
const OMA = `/org.openmobilealliance.pres-rules/users/${XUI}/index`;
const HA1 = computeHa1("alice", "example.test", "secret");
const BOB = "sip:bob@example.test";
const MALLORY = "sip:mallory@example.test";
const STRANGER = "sip:stranger@example.test";

/** What a server decides for `watcher` from the IETF document alone: RFC 4745 combining, and first match. */
function decisions(xml: string, watcher: string): { combining: string; firstMatch: string | undefined } {
  const rules = parsePresRules(xml);
  const combining = evaluatePresRules(rules, { uri: watcher, authenticated: true }).subHandling;
  const firstMatch = rules.rules.map((r) => evaluatePresRules({ ...rules, rules: [r] }, { uri: watcher, authenticated: true })).find((p) => p.matchedRules.length > 0)?.subHandling;
  return { combining, firstMatch };
}

describe("identity-rules mirror", () => {
  let server: TestXcapServer;
  const book = (identityRules: boolean) =>
    new AddressBook({ client: new XcapClient({ root: server.baseUrl, xui: XUI, auth: { username: "alice", ha1: HA1 } }), xcapRoot: ROOT, identityRules });

  beforeEach(async () => {
    server = new TestXcapServer({ users: { alice: HA1 } });
    await server.start();
  });
  afterEach(async () => server.stop());

  it("is not written unless asked for", async () => {
    await book(false).addContact({ name: "Bob", uris: [BOB] });
    expect(server.docs.has(IETF)).toBe(false);
  });

  it("follows every policy edit: own allow, blocked block, allowed allow, the default for everyone else — the same under combining and first match", async () => {
    const b = book(true);
    await b.addContact({ name: "Bob", uris: [BOB] }); // a new contact may see me
    await b.blockUri(MALLORY);
    let xml = server.docs.get(IETF)!.body;
    expect(await xsdErrors(xml, "pres-rules")).toEqual([]);
    expect(parsePresRules(xml).rules.map((r) => r.id)).toEqual(["herald_allow_own", "herald_blocked", "herald_allowed", "herald_default"]);
    expect(decisions(xml, XUI)).toEqual({ combining: "allow", firstMatch: "allow" });
    expect(decisions(xml, BOB)).toEqual({ combining: "allow", firstMatch: "allow" });
    expect(decisions(xml, MALLORY)).toEqual({ combining: "block", firstMatch: "block" });
    expect(decisions(xml, STRANGER)).toEqual({ combining: "confirm", firstMatch: "confirm" });
    // the OMA document is still exactly Blink's: no herald_ rule there
    expect(server.docs.get(OMA)!.body).not.toContain("herald_");

    // block bob, let strangers in, unblock mallory
    await b.blockUri(BOB);
    await b.setDefaultPolicy("allow");
    await b.unblockUri(MALLORY);
    xml = server.docs.get(IETF)!.body;
    expect(decisions(xml, BOB)).toEqual({ combining: "block", firstMatch: "block" });
    expect(decisions(xml, MALLORY)).toEqual({ combining: "allow", firstMatch: "allow" });
    expect(decisions(xml, STRANGER)).toEqual({ combining: "allow", firstMatch: "allow" });
    // polite-block as the default is written as block (those servers freeze a polite-blocked watcher)
    await b.setDefaultPolicy("polite-block");
    expect(decisions(server.docs.get(IETF)!.body, STRANGER).firstMatch).toBe("block");
  });

  it("keeps rules and content it did not write, ahead of them, and changes nothing on a second run", async () => {
    const doc = parseXml(`<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:x="urn:example:ext">
  <cr:rule id="operator_rule"><cr:conditions><cr:identity><cr:one id="sip:ops@example.test"/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
  <cr:rule id="herald_blocked"><cr:conditions><cr:identity><cr:one id="sip:old@example.test"/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>block</pr:sub-handling></cr:actions></cr:rule>
  <x:note>kept</x:note>
</cr:ruleset>`);
    const model = parseAddressBook(null, null);
    const ctx = { xui: XUI, xcapRoot: ROOT };
    mirrorIdentityRules(doc, model, ctx);
    const once = serializeXml(doc);
    expect(parsePresRules(once).rules.map((r) => r.id)).toEqual(["herald_allow_own", "herald_default", "operator_rule"]);
    expect(once).toContain("<x:note>kept</x:note>");
    expect(once).not.toContain("sip:old@example.test");
    mirrorIdentityRules(doc, model, ctx);
    expect(serializeXml(doc)).toBe(once);
  });
});
