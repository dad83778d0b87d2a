import { describe, expect, it } from "vitest";
import { childrenNS, firstChildNS, serializeXml, type XmlDocument } from "../../../../lib/xml";
import {
  AddressBookError,
  LIST,
  NS,
  RULE,
  addContact,
  allowUri,
  blockUri,
  createGroup,
  deleteContact,
  deleteGroup,
  editContact,
  emptyPresRules,
  emptyResourceLists,
  generateId,
  moveContact,
  normalizeResourceLists,
  normalizeUri,
  parseAddressBook,
  readDefaultPolicy,
  renameGroup,
  setDefaultPolicyInPresRules,
  unblockUri,
} from "../../../../lib/xcap/addressbook";
import { CTX, entries, fixtureDoc, ruleIds, subHandling, unknownContent } from "./helpers";
import { xsdErrors } from "./xsd";

const BOB = "id1718000000000002000002";
const CAROL = "id1718000000000003000003";
const DAVE = "id1718000000000004000004";
const FRIENDS = "id1718000000000001000001";
const WORK = "id1718000000000005000005";

/**
 * Apply an edit to the Blink fixture, normalise, and check schema validity and that every unknown
 * element and attribute is still there — except inside the items the edit deleted on purpose.
 */
async function edited(edit: (doc: XmlDocument) => void, deletedItemIds: string[] = []): Promise<XmlDocument> {
  const doc = fixtureDoc("resource-lists.xml");
  const before = unknownContent(doc).filter((path) => !deletedItemIds.some((id) => path.includes(`[${id}]`)));
  edit(doc);
  normalizeResourceLists(doc, CTX);
  expect(unknownContent(doc)).toEqual(before);
  expect(await xsdErrors(serializeXml(doc), "resource-lists")).toEqual([]);
  return doc;
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof AddressBookError) return e.code;
    throw e;
  }
  return undefined;
}

describe("address book edits on a Blink document", () => {
  it("adds a contact in Blink's shape and recomputes granted / RLS lists", async () => {
    let id = "";
    const doc = await edited((d) => {
      const c = addContact(d, CTX, { name: "  Grace ", uris: ["grace@example.test", { uri: "sip:grace@mobile.test", type: "Mobile" }], groups: [FRIENDS], defaultUri: "sip:grace@example.test" });
      id = c.id;
      expect(c).toMatchObject({ name: "Grace", groups: [FRIENDS], presence: { policy: "allow", subscribe: true }, dialog: { policy: "default", subscribe: false } });
      expect(c.uris.map((u) => [u.uri, u.type])).toEqual([
        ["sip:grace@example.test", null],
        ["sip:grace@mobile.test", "Mobile"],
      ]);
      expect(c.defaultUriId).toBe(c.uris[0]!.id);
    });
    expect(id).toMatch(/^id\d{22,}$/);
    expect(entries(doc, LIST.presenceGranted)).toContain("sip:grace@mobile.test");
    expect(entries(doc, LIST.presenceRls)).toContain("sip:grace@example.test");
    const model = parseAddressBook(doc, null);
    expect(model.groups.find((g) => g.id === FRIENDS)!.contactIds).toContain(id);
    // element order follows the schema: name, uris, dialog, presence
    const el = childrenNS(childrenNS(doc.documentElement, NS.resourceLists, "list").at(-1)!, NS.addressbook, "contact").at(-1)!;
    expect(childrenNS(el, NS.addressbook, "name").length + childrenNS(el, NS.addressbook, "uris").length).toBe(2);
    expect(serializeXml(el)).toMatch(/<addressbook:name>Grace<\/addressbook:name><addressbook:uris default="id\d+"><addressbook:uri id="id\d+" uri="sip:grace@example.test"\/>/);
  });

  it("edits a contact: name, addresses (kept ones keep id, type and extensions), policies, groups, attributes", async () => {
    const doc = await edited((d) => {
      const c = editContact(d, CTX, DAVE, {
        name: "David",
        uris: ["sip:dave@other.test", "sip:dave@new.test"],
        presence: { policy: "block" },
        groups: [WORK],
        attributes: { icon: "https://x/icon.png", gone: undefined },
      });
      expect(c.uris.map((u) => [u.id, u.uri, u.type])).toEqual([
        ["id1718000000000004100002", "sip:dave@other.test", "Mobile"],
        [expect.stringMatching(/^id\d+$/), "sip:dave@new.test", null],
      ]);
      expect(c.groups).toEqual([WORK]);
      expect(c.attributes).toEqual({ icon: "https://x/icon.png" });
    });
    expect(serializeXml(doc)).toContain("<x:verified/>");
    expect(entries(doc, LIST.presenceBlocked)).toEqual(["sip:carol@example.test", "sip:dave@new.test", "sip:dave@other.test", "sip:mallory@example.test"]);
    expect(entries(doc, LIST.presenceRls)).not.toContain("sip:dave@example.test");
  });

  it("keeps Bob's attributes and extensions when only his name changes", async () => {
    const doc = await edited((d) => editContact(d, CTX, BOB, { name: "Robert" }));
    const bob = parseAddressBook(doc, null).contacts.find((c) => c.id === BOB)!;
    expect(bob.name).toBe("Robert");
    expect(bob.attributes).toEqual({ icon: "https://xcap.example.test/icons/bob.png", preferred_media: "audio", auto_answer: null });
    expect(bob.uris[0]!.attributes).toEqual({ label: "office" });
  });

  it("deletes a contact from the book, its groups and every derived list", async () => {
    const doc = await edited((d) => deleteContact(d, BOB), [BOB]);
    const model = parseAddressBook(doc, null);
    expect(model.contacts.map((c) => c.id)).toEqual([CAROL, DAVE]);
    expect(model.groups.find((g) => g.id === FRIENDS)!.contactIds).toEqual([DAVE]);
    expect(entries(doc, LIST.presenceGranted)).toEqual(["sip:eve@example.test", "sip:frank@example.test"]);
    expect(entries(doc, LIST.presenceRls)).not.toContain("sip:bob@example.test");
    // the buddy list and foreign lists are not the SDK's derived data: untouched
    expect(entries(doc, LIST.buddies)).toEqual(["sip:bob@example.test"]);
    expect(entries(doc, "portal_favourites")).toEqual(["sip:bob@example.test"]);
  });

  it("moves contacts between groups", async () => {
    await edited((d) => {
      expect(moveContact(d, BOB, WORK).groups).toEqual([WORK]);
      expect(moveContact(d, BOB, FRIENDS, null).groups.sort()).toEqual([FRIENDS, WORK].sort());
      expect(moveContact(d, BOB, null, WORK).groups).toEqual([FRIENDS]);
      expect(moveContact(d, BOB, null).groups).toEqual([]);
    });
  });

  it("creates, renames and deletes groups", async () => {
    const doc = await edited((d) => {
      const g = createGroup(d, { name: "Family", contactIds: [CAROL] });
      expect(g).toMatchObject({ name: "Family", contactIds: [CAROL] });
      expect(renameGroup(d, g.id, "Kin").name).toBe("Kin");
      expect(code(() => createGroup(d, { name: "friends" }))).toBe("duplicate-name");
      expect(code(() => renameGroup(d, FRIENDS, "Kin"))).toBe("duplicate-name");
      deleteGroup(d, WORK, { deleteContacts: true });
      deleteGroup(d, FRIENDS);
    }, [FRIENDS]);
    const model = parseAddressBook(doc, null);
    expect(model.groups.map((g) => g.name)).toEqual(["Kin"]);
    // Carol is still in Kin, so deleting Work with its contacts keeps her
    expect(model.contacts.map((c) => c.id)).toEqual([BOB, CAROL, DAVE]);
  });

  it("deleting a group with its contacts removes contacts that are in no other group", async () => {
    const doc = await edited((d) => deleteGroup(d, WORK, { deleteContacts: true }));
    expect(parseAddressBook(doc, null).contacts.map((c) => c.id)).toEqual([BOB, DAVE]);
    expect(entries(doc, LIST.presenceBlocked)).toEqual(["sip:mallory@example.test"]);
  });

  it("blocks a contact's URI through the contact, and a stranger's through a policy-element", async () => {
    const doc = await edited((d) => {
      expect(blockUri(d, CTX, "sip:bob@example.test")).toEqual({ target: "contact", contactIds: [BOB] });
      const r = blockUri(d, CTX, "zed@example.test", { name: "Zed" });
      expect(r.target).toBe("policy");
    });
    const model = parseAddressBook(doc, null);
    expect(model.contacts.find((c) => c.id === BOB)!.presence).toEqual({ policy: "block", subscribe: true });
    expect(model.policies.find((p) => p.uri === "sip:zed@example.test")).toMatchObject({ name: "Zed", presence: { policy: "block", subscribe: false } });
    expect(entries(doc, LIST.presenceBlocked)).toEqual(["sip:bob@example.test", "sip:carol@example.test", "sip:mallory@example.test", "sip:zed@example.test"]);
    expect(entries(doc, LIST.presenceGranted)).toEqual(["sip:eve@example.test", "sip:frank@example.test"]);
    // a blocked contact is still subscribed to, as in the SDK (subscribe is independent)
    expect(entries(doc, LIST.presenceRls)).toContain("sip:bob@example.test");
  });

  it("unblocks: contact back to default, a policy-element with nothing else left is removed", async () => {
    const doc = await edited((d) => {
      expect(unblockUri(d, "sip:carol@example.test")).toEqual({ target: "contact", contactIds: [CAROL] });
      expect(unblockUri(d, "sip:mallory@example.test")).toEqual({ target: "policy", policyId: "id1718000000000008000008" });
      expect(unblockUri(d, "sip:mallory@example.test", { events: ["dialog"] })).toEqual({ target: "policy", policyId: null });
      expect(unblockUri(d, "sip:nobody@example.test")).toEqual({ target: "none" });
    });
    const model = parseAddressBook(doc, null);
    expect(model.contacts.find((c) => c.id === CAROL)!.presence.policy).toBe("default");
    expect(model.policies.map((p) => p.uri)).not.toContain("sip:mallory@example.test");
    expect(entries(doc, LIST.presenceBlocked)).toEqual([]);
    expect(entries(doc, LIST.dialogBlocked)).toEqual(["sip:carol@example.test"]);
  });

  it("unblock gives back exactly the policy from before the block: allow stays allow, default stays default", async () => {
    const doc = await edited((d) => {
      allowUri(d, CTX, "sip:bob@example.test");
      allowUri(d, CTX, "sip:henry@example.test");
      blockUri(d, CTX, "sip:bob@example.test");
      blockUri(d, CTX, "sip:henry@example.test");
      blockUri(d, CTX, "sip:bob@example.test"); // blocking twice keeps the first remembered policy
    });
    expect(parseAddressBook(doc, null).contacts.find((c) => c.id === BOB)!.presence.policy).toBe("block");
    unblockUri(doc, "sip:bob@example.test");
    unblockUri(doc, "sip:henry@example.test");
    normalizeResourceLists(doc, CTX);
    const model = parseAddressBook(doc, null);
    const bob = model.contacts.find((c) => c.id === BOB)!;
    expect(bob.presence).toEqual({ policy: "allow", subscribe: true });
    expect(Object.keys(bob.attributes).filter((k) => k.startsWith("herald."))).toEqual([]);
    expect(model.policies.find((p) => p.uri === "sip:henry@example.test")?.presence.policy).toBe("allow");
    expect(entries(doc, LIST.presenceGranted)).toEqual(expect.arrayContaining(["sip:bob@example.test", "sip:henry@example.test"]));
    expect(entries(doc, LIST.presenceBlocked)).not.toContain("sip:bob@example.test");
    expect(await xsdErrors(serializeXml(doc), "resource-lists")).toEqual([]);
  });

  it("allows a stranger through a policy-element and refuses to block the user's own AOR", async () => {
    const doc = await edited((d) => {
      expect(allowUri(d, CTX, "sip:henry@example.test").target).toBe("policy");
      expect(code(() => blockUri(d, CTX, "sip:alice@example.test"))).toBe("own-uri");
    });
    expect(entries(doc, LIST.presenceGranted)).toContain("sip:henry@example.test");
  });

  it("refuses one's own address and an address already in the contacts, host in any letter case; nothing changes", () => {
    const d = fixtureDoc("resource-lists.xml");
    const before = serializeXml(d);
    expect(code(() => addContact(d, CTX, { name: "Me", uris: ["alice@EXAMPLE.test"] }))).toBe("own-uri");
    expect(code(() => addContact(d, CTX, { name: "Bob again", uris: ["sip:bob@Example.Test"] }))).toBe("duplicate-uri");
    expect(code(() => addContact(d, CTX, { name: "Bob again", uris: ["sip:bob@example.test;transport=tcp"] }))).toBe("duplicate-uri");
    expect(code(() => editContact(d, CTX, DAVE, { uris: ["sip:bob@example.test"] }))).toBe("duplicate-uri");
    expect(serializeXml(d)).toBe(before);
    // a contact keeps its own address on an edit, and a new address is stored with its host lower-cased
    expect(editContact(d, CTX, BOB, { uris: ["sip:bob@example.test", "sip:bob@Mobile.Example.TEST"] }).uris.map((u) => u.uri)).toEqual([
      "sip:bob@example.test",
      "sip:bob@mobile.example.test",
    ]);
  });

  it("validates input with typed errors", () => {
    const d = fixtureDoc("resource-lists.xml");
    expect(code(() => addContact(d, CTX, { name: "x", uris: ["not a uri"] }))).toBe("invalid-uri");
    expect(code(() => addContact(d, CTX, { name: "x", uris: [] }))).toBe("invalid-uri");
    expect(code(() => addContact(d, CTX, { name: "bad\u0007name", uris: ["sip:a@b.test"] }))).toBe("invalid-name");
    expect(code(() => addContact(d, CTX, { name: "x", uris: ["sip:a@b.test"], groups: ["nope"] }))).toBe("group-not-found");
    expect(code(() => addContact(d, CTX, { id: BOB, name: "x", uris: ["sip:a@b.test"] }))).toBe("duplicate-id");
    expect(code(() => addContact(d, CTX, { id: "1bad", name: "x", uris: ["sip:a@b.test"] }))).toBe("invalid-id");
    expect(code(() => editContact(d, CTX, "missing", { name: "x" }))).toBe("contact-not-found");
    expect(code(() => editContact(d, CTX, BOB, { presence: { policy: "maybe" as never } }))).toBe("invalid-policy");
    expect(code(() => createGroup(d, { name: "   " }))).toBe("invalid-name");
    expect(code(() => deleteGroup(d, "missing"))).toBe("group-not-found");
    expect(normalizeUri("SIP:Bob@Example.test;transport=TCP")).toBe("sip:Bob@example.test;transport=TCP"); // scheme and host (RFC 3261 §19.1.4), nothing else
    expect(normalizeUri("tel:+15551234567")).toBe("tel:+15551234567");
    expect(normalizeUri("sips:[2001:db8::1]:5061;transport=tls")).toBe("sips:[2001:db8::1]:5061;transport=tls");
  });

  it("builds a valid book from an empty document", async () => {
    const d = emptyResourceLists();
    const g = createGroup(d, { name: "Buddies" });
    addContact(d, CTX, { name: "Bob", uris: ["sip:bob@example.test"], groups: [g.id] });
    normalizeResourceLists(d, CTX);
    expect(entries(d, LIST.presenceGranted)).toEqual(["sip:bob@example.test"]);
    expect(await xsdErrors(serializeXml(d), "resource-lists")).toEqual([]);
    expect(serializeXml(d)).toContain('xmlns:addressbook="urn:ag-projects:xml:ns:addressbook"');
  });

  it("generates SDK-style ids", () => {
    const ids = new Set(Array.from({ length: 200 }, () => generateId()));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^id\d{16,}\d{6}$/);
  });
});

describe("default policy in pres-rules", () => {
  it("switches between wp_prs_unlisted and wp_prs_allow_unlisted like the SDK, in place", async () => {
    const doc = fixtureDoc("pres-rules.xml");
    setDefaultPolicyInPresRules(doc, CTX, "allow");
    expect(ruleIds(doc)).toEqual([RULE.granted, RULE.blocked, RULE.allowUnlisted, RULE.blockAnonymous, RULE.allowOwn]);
    expect(subHandling(doc, RULE.allowUnlisted)).toEqual(["allow"]);
    expect(readDefaultPolicy(doc)).toBe("allow");
    expect(await xsdErrors(serializeXml(doc), "pres-rules")).toEqual([]);
    setDefaultPolicyInPresRules(doc, CTX, "block");
    expect(ruleIds(doc)).toEqual([RULE.granted, RULE.blocked, RULE.unlisted, RULE.blockAnonymous, RULE.allowOwn]);
    expect(readDefaultPolicy(doc)).toBe("block");
    setDefaultPolicyInPresRules(doc, CTX, "confirm");
    expect(subHandling(doc, RULE.unlisted)).toEqual(["confirm"]);
    setDefaultPolicyInPresRules(doc, CTX, "polite-block");
    expect(readDefaultPolicy(doc)).toBe("polite-block");
    expect(await xsdErrors(serializeXml(doc), "pres-rules")).toEqual([]);
    // unknown extensions of the kept rules survive
    const actions = firstChildNS(childrenNS(doc.documentElement, NS.commonPolicy, "rule")[0]!, NS.commonPolicy, "actions")!;
    expect(serializeXml(actions)).toContain("x:audit");
  });

  it("works on an empty document", () => {
    const doc = emptyPresRules();
    setDefaultPolicyInPresRules(doc, CTX, "allow");
    expect(readDefaultPolicy(doc)).toBe("allow");
  });
});
