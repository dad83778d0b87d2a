import { describe, expect, it } from "vitest";
import { childElements, childrenNS, firstChildNS, serializeXml, textOf } from "../../../../lib/xml";
import {
  LIST,
  NS,
  RULE,
  emptyPresRules,
  emptyResourceLists,
  emptyRlsServices,
  normalizePresRules,
  normalizeResourceLists,
  normalizeRlsServices,
  parseAddressBook,
  readDefaultPolicy,
  decodeAnyUri,
} from "../../../../lib/xcap/addressbook";
import { CTX, X_NS, blinkListUri, entries, fixtureDoc, list, listNames, listUri, rule, ruleIds, service, subHandling, unknownContent } from "./helpers";
import { xsdErrors } from "./xsd";

const BLINK_LIST_ORDER = [
  LIST.buddies,
  LIST.presenceGranted,
  LIST.presenceBlocked,
  LIST.allContacts,
  LIST.dialogGranted,
  LIST.dialogBlocked,
  LIST.presenceRls,
  LIST.dialogRls,
  LIST.addressbook,
];

describe("parsing a Blink address book", () => {
  it("reads contacts, groups, policies, attributes and the default policy", () => {
    const model = parseAddressBook(fixtureDoc("resource-lists.xml"), fixtureDoc("pres-rules.xml"));
    expect(model.contacts.map((c) => c.name)).toEqual(["Bob Builder", "Carol", "Dave"]);
    const bob = model.contacts[0]!;
    expect(bob).toMatchObject({
      id: "id1718000000000002000002",
      defaultUriId: "id1718000000000002100001",
      groups: ["id1718000000000001000001"],
      presence: { policy: "allow", subscribe: true },
      dialog: { policy: "default", subscribe: false },
      attributes: { icon: "https://xcap.example.test/icons/bob.png", preferred_media: "audio", auto_answer: null },
    });
    expect(bob.uris).toEqual([{ id: "id1718000000000002100001", uri: "sip:bob@example.test", type: "SIP", attributes: { label: "office" } }]);
    expect(model.contacts[2]!.uris.map((u) => [u.uri, u.type])).toEqual([
      ["sip:dave@example.test", "SIP"],
      ["sip:dave@other.test", "Mobile"],
    ]);
    // a group member that is not a contact is not reported
    expect(model.groups.map((g) => [g.name, g.contactIds])).toEqual([
      ["Friends", ["id1718000000000002000002", "id1718000000000004000004"]],
      ["Work", ["id1718000000000003000003"]],
    ]);
    expect(model.groups[0]!.attributes).toEqual({ position: "0", expanded: "True" });
    expect(model.policies.map((p) => [p.uri, p.presence.policy])).toEqual([
      ["sip:eve@example.test", "allow"],
      ["sip:carol@example.test", "allow"],
      ["sip:mallory@example.test", "block"],
      ["sip:frank@example.test", "allow"],
    ]);
    // two sub-handlings: the SDK keeps the most permissive one
    expect(model.defaultPolicy).toBe("polite-block");
    expect(model.presence).toEqual({
      allowed: ["sip:bob@example.test", "sip:eve@example.test", "sip:frank@example.test"],
      blocked: ["sip:carol@example.test", "sip:mallory@example.test"],
      subscribed: ["sip:bob@example.test", "sip:dave@example.test", "sip:dave@other.test", "sip:frank@example.test"],
    });
    expect(model.dialog).toEqual({
      allowed: ["sip:dave@example.test", "sip:dave@other.test"],
      blocked: ["sip:carol@example.test", "sip:mallory@example.test"],
      subscribed: ["sip:dave@example.test", "sip:dave@other.test"],
    });
  });

  it("reads missing documents as an empty book with default policy confirm", () => {
    const model = parseAddressBook(null, null);
    expect(model).toMatchObject({ contacts: [], groups: [], policies: [], defaultPolicy: "confirm" });
  });
});

describe("normalizing resource-lists like the SDK", () => {
  it("recomputes the derived lists and keeps every unknown element, attribute and namespace", async () => {
    const doc = fixtureDoc("resource-lists.xml");
    const unknownBefore = unknownContent(doc);
    normalizeResourceLists(doc, CTX);

    expect(entries(doc, LIST.presenceGranted)).toEqual(["sip:bob@example.test", "sip:eve@example.test", "sip:frank@example.test"]);
    expect(entries(doc, LIST.presenceBlocked)).toEqual(["sip:carol@example.test", "sip:mallory@example.test"]);
    expect(entries(doc, LIST.presenceRls)).toEqual(["sip:bob@example.test", "sip:dave@example.test", "sip:dave@other.test", "sip:frank@example.test"]);
    expect(entries(doc, LIST.dialogGranted)).toEqual(["sip:dave@example.test", "sip:dave@other.test"]);
    expect(entries(doc, LIST.dialogBlocked)).toEqual(["sip:carol@example.test", "sip:mallory@example.test"]);
    expect(entries(doc, LIST.dialogRls)).toEqual(["sip:dave@example.test", "sip:dave@other.test"]);
    // non-entry items go from derived lists, as the SDK does
    expect(childrenNS(list(doc, LIST.presenceGranted), NS.resourceLists, "external")).toHaveLength(0);
    // an entry that stays keeps its display-name
    const eve = childrenNS(list(doc, LIST.presenceGranted), NS.resourceLists, "entry").find((e) => decodeAnyUri(e.getAttribute("uri")) === "sip:eve@example.test")!;
    expect(textOf(firstChildNS(eve, NS.resourceLists, "display-name"))).toBe("Eve");
    // the dangling group member is dropped
    const friends = parseAddressBook(doc, null).groups[0]!;
    expect(serializeXml(list(doc, LIST.addressbook))).not.toContain("id1718000000000099000099");
    expect(friends.contactIds).toHaveLength(2);

    expect(unknownContent(doc)).toEqual(unknownBefore);
    expect(unknownBefore.length).toBeGreaterThanOrEqual(10);
    expect(entries(doc, "portal_favourites")).toEqual(["sip:bob@example.test"]);
    expect(serializeXml(doc)).toContain('<agp-rl:attribute name="note">met at the conference</agp-rl:attribute>');
    expect(listNames(doc)).toEqual([...BLINK_LIST_ORDER.slice(0, -1), "portal_favourites", LIST.addressbook]);
    expect(await xsdErrors(serializeXml(doc), "resource-lists")).toEqual([]);
  });

  it("is idempotent", () => {
    const doc = fixtureDoc("resource-lists.xml");
    normalizeResourceLists(doc, CTX);
    const once = serializeXml(doc);
    normalizeResourceLists(doc, CTX);
    expect(serializeXml(doc)).toBe(once);
  });

  it("builds Blink's structure from nothing", async () => {
    const doc = emptyResourceLists();
    normalizeResourceLists(doc, CTX);
    expect(listNames(doc)).toEqual(BLINK_LIST_ORDER);
    const anchors = childrenNS(list(doc, LIST.allContacts), NS.resourceLists, "external").map((e) => e.getAttribute("anchor"));
    expect(anchors).toEqual([listUri("oma_buddylist"), listUri("oma_grantedcontacts"), listUri("oma_blockedcontacts")]);
    expect(anchors[0]).toBe(
      "https://xcap.example.test/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22oma_buddylist%22%5D",
    );
    // decoded, it is the very string the SDK computes, so a Blink client leaves it alone
    expect(anchors.map((a) => decodeAnyUri(a))).toEqual([blinkListUri("oma_buddylist"), blinkListUri("oma_grantedcontacts"), blinkListUri("oma_blockedcontacts")]);
    expect(await xsdErrors(serializeXml(doc), "resource-lists")).toEqual([]);
  });

  it("refuses a document that is not resource-lists", () => {
    expect(() => normalizeResourceLists(emptyRlsServices(), CTX)).toThrow(expect.objectContaining({ code: "invalid-document" }));
  });
});

describe("normalizing rls-services like the SDK", () => {
  it("points the presence and dialog services at the RLS lists, keeping other services and extensions", async () => {
    const doc = fixtureDoc("rls-services.xml");
    const unknownBefore = unknownContent(doc);
    normalizeRlsServices(doc, CTX);
    const pres = service(doc, "sip:alice+presence@example.test")!;
    expect(textOf(firstChildNS(pres, NS.rlsServices, "resource-list"))).toBe(listUri("sipsimple_presence_rls"));
    expect(childrenNS(firstChildNS(pres, NS.rlsServices, "packages")!, NS.rlsServices, "package").map((p) => textOf(p))).toEqual(["presence"]);
    const dialog = service(doc, "sip:alice+dialog@example.test")!;
    expect(textOf(firstChildNS(dialog, NS.rlsServices, "resource-list"))).toBe(listUri("sipsimple_dialog_rls"));
    expect(childrenNS(firstChildNS(dialog, NS.rlsServices, "packages")!, NS.rlsServices, "package").map((p) => textOf(p))).toEqual(["dialog"]);
    // a service of another client stays as it is
    expect(firstChildNS(service(doc, "sip:alice+work@example.test")!, NS.rlsServices, "list")).toBeDefined();
    expect(unknownContent(doc)).toEqual(unknownBefore);
    expect(await xsdErrors(serializeXml(doc), "rls-services")).toEqual([]);
    const once = serializeXml(doc);
    normalizeRlsServices(doc, CTX);
    expect(serializeXml(doc)).toBe(once);
  });

  it("creates both services from nothing", async () => {
    const doc = emptyRlsServices();
    normalizeRlsServices(doc, CTX);
    expect(childrenNS(doc.documentElement, NS.rlsServices, "service").map((s) => s.getAttribute("uri"))).toEqual([
      "sip:alice+presence@example.test",
      "sip:alice+dialog@example.test",
    ]);
    expect(await xsdErrors(serializeXml(doc), "rls-services")).toEqual([]);
  });
});

describe("normalizing OMA pres-rules like the SDK", () => {
  it("keeps exactly the five wp_prs rules with fixed conditions and sub-handling", async () => {
    const doc = fixtureDoc("pres-rules.xml");
    normalizePresRules(doc, CTX);
    expect(ruleIds(doc)).toEqual([RULE.granted, RULE.blocked, RULE.unlisted, RULE.blockAnonymous, RULE.allowOwn]);
    expect(subHandling(doc, RULE.unlisted)).toEqual(["polite-block"]);
    expect(firstChildNS(rule(doc, RULE.granted)!, NS.commonPolicy, "transformations")).toBeUndefined();
    // an unknown action survives
    const actions = firstChildNS(rule(doc, RULE.granted)!, NS.commonPolicy, "actions")!;
    expect(childrenNS(actions, X_NS, "audit")).toHaveLength(1);
    expect(await xsdErrors(serializeXml(doc), "pres-rules")).toEqual([]);
    const once = serializeXml(doc);
    normalizePresRules(doc, CTX);
    expect(serializeXml(doc)).toBe(once);
  });

  it("creates the rules from nothing: granted allow, blocked polite-block, unlisted confirm, anonymous block, own allow", async () => {
    const doc = emptyPresRules();
    normalizePresRules(doc, CTX);
    expect(ruleIds(doc)).toEqual([RULE.granted, RULE.blocked, RULE.unlisted, RULE.blockAnonymous, RULE.allowOwn]);
    expect([RULE.granted, RULE.blocked, RULE.unlisted, RULE.blockAnonymous, RULE.allowOwn].map((id) => subHandling(doc, id))).toEqual([
      ["allow"],
      ["polite-block"],
      ["confirm"],
      ["block"],
      ["allow"],
    ]);
    const cond = (id: string) => childElements(firstChildNS(rule(doc, id)!, NS.commonPolicy, "conditions")!)[0]!;
    const anc = (id: string) => childrenNS(cond(id), NS.omaCommonPolicy, "entry")[0]!.getAttribute("anc");
    expect(anc(RULE.granted)).toBe(listUri("oma_grantedcontacts"));
    expect(anc(RULE.blocked)).toBe(listUri("oma_blockedcontacts"));
    expect([cond(RULE.unlisted).namespaceURI, cond(RULE.unlisted).localName]).toEqual([NS.omaCommonPolicy, "other-identity"]);
    expect(cond(RULE.blockAnonymous).localName).toBe("anonymous-request");
    expect(childrenNS(cond(RULE.allowOwn), NS.commonPolicy, "one")[0]!.getAttribute("id")).toBe("sip:alice@example.test");
    expect(readDefaultPolicy(doc)).toBe("confirm");
    expect(await xsdErrors(serializeXml(doc), "pres-rules")).toEqual([]);
  });

  it("repairs wrong conditions, a missing sub-handling and an invalid value", () => {
    const doc = emptyPresRules();
    normalizePresRules(doc, CTX);
    const granted = rule(doc, RULE.granted)!;
    const entry = childrenNS(childElements(firstChildNS(granted, NS.commonPolicy, "conditions")!)[0]!, NS.omaCommonPolicy, "entry")[0]!;
    entry.setAttribute("anc", "https://elsewhere/list");
    const actions = firstChildNS(rule(doc, RULE.blockAnonymous)!, NS.commonPolicy, "actions")!;
    actions.removeChild(childElements(actions)[0]!);
    const own = childrenNS(firstChildNS(rule(doc, RULE.allowOwn)!, NS.commonPolicy, "actions")!, NS.presRules, "sub-handling")[0]!;
    own.textContent = "confirm";
    normalizePresRules(doc, CTX);
    expect(childrenNS(childElements(firstChildNS(granted, NS.commonPolicy, "conditions")!)[0]!, NS.omaCommonPolicy, "entry")[0]!.getAttribute("anc")).toBe(
      listUri("oma_grantedcontacts"),
    );
    expect(subHandling(doc, RULE.blockAnonymous)).toEqual(["block"]);
    expect(subHandling(doc, RULE.allowOwn)).toEqual(["allow"]);
  });
});
