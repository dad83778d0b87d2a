import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseXml } from "../../../../lib/xml";
import { XcapClient, computeHa1 } from "../../../../lib/xcap/client";
import { AddressBook, AddressBookError, LIST, RULE, parseAddressBook } from "../../../../lib/xcap/addressbook";
import { TestXcapServer } from "../client/test-server";
import { ROOT, entries, fixture, ruleIds, service, unknownContent } from "./helpers";
import { xsdErrors } from "./xsd";

const XUI = "sip:alice@example.test";
const RL = `/resource-lists/users/${XUI}/index`;
const RLS = `/rls-services/users/${XUI}/index`;
const PR = `/org.openmobilealliance.pres-rules/users/${XUI}/index`;
const HA1 = computeHa1("alice", "example.test", "secret");

describe("AddressBook over XCAP", () => {
  let server: TestXcapServer;
  let book: AddressBook;

  const doc = (path: string) => parseXml(server.docs.get(path)!.body);
  const puts = () => server.requests.filter((r) => r.method === "PUT" && r.status < 300).map((r) => decodeURIComponent(r.url).split("/")[2]);

  beforeEach(async () => {
    server = new TestXcapServer({ users: { alice: HA1 } });
    await server.start();
    const client = new XcapClient({ root: server.baseUrl, xui: XUI, auth: { username: "alice", ha1: HA1 } });
    book = new AddressBook({ client, xcapRoot: ROOT });
  });
  afterEach(async () => {
    await server.stop();
  });

  it("creates the three documents for a new account, in order, valid against the schemas", async () => {
    const c = await book.addContact({ name: "Bob", uris: ["sip:bob@example.test"] });
    expect(puts()).toEqual(["resource-lists", "rls-services", "org.openmobilealliance.pres-rules"]);
    for (const [path, kind] of [
      [RL, "resource-lists"],
      [RLS, "rls-services"],
      [PR, "pres-rules"],
    ] as const) {
      expect(await xsdErrors(server.docs.get(path)!.body, kind)).toEqual([]);
    }
    expect(entries(doc(RL), LIST.presenceGranted)).toEqual(["sip:bob@example.test"]);
    expect(entries(doc(RL), LIST.presenceRls)).toEqual(["sip:bob@example.test"]);
    expect(service(doc(RLS), "sip:alice+presence@example.test")).toBeDefined();
    expect(ruleIds(doc(PR))).toEqual([RULE.granted, RULE.blocked, RULE.unlisted, RULE.blockAnonymous, RULE.allowOwn]);
    const loaded = await book.load();
    expect(loaded.contacts).toEqual([c]);
    expect(loaded.defaultPolicy).toBe("confirm");
    expect(loaded.etags.resourceLists).toMatch(/^"e\d+"$/);
  });

  it("edits a Blink account in place: unknown content survives in all three documents", async () => {
    server.seed(RL, fixture("resource-lists.xml"));
    server.seed(RLS, fixture("rls-services.xml"));
    server.seed(PR, fixture("pres-rules.xml"));
    const unknown = [RL, RLS, PR].map((p) => unknownContent(doc(p)));

    const { change, model } = await book.blockUri("sip:zed@example.test");
    expect(change.target).toBe("policy");
    expect(model.presence.blocked).toContain("sip:zed@example.test");
    await book.setDefaultPolicy("allow");

    expect([RL, RLS, PR].map((p) => unknownContent(doc(p)))).toEqual(unknown);
    expect(entries(doc(RL), LIST.presenceBlocked)).toEqual(["sip:carol@example.test", "sip:mallory@example.test", "sip:zed@example.test"]);
    expect(ruleIds(doc(PR))).toContain(RULE.allowUnlisted);
    expect((await book.load()).defaultPolicy).toBe("allow");
    for (const [path, kind] of [
      [RL, "resource-lists"],
      [RLS, "rls-services"],
      [PR, "pres-rules"],
    ] as const) {
      expect(await xsdErrors(server.docs.get(path)!.body, kind)).toEqual([]);
    }
  });

  it("writes nothing when an edit is invalid", async () => {
    server.seed(RL, fixture("resource-lists.xml"));
    const err = await book.editContact("missing", { name: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AddressBookError);
    expect((err as AddressBookError).code).toBe("contact-not-found");
    expect(puts()).toEqual([]);
  });

  it("two portal sessions editing at once both land (412 → re-read → re-apply)", async () => {
    server.seed(RL, fixture("resource-lists.xml"));
    server.holdGetsUntil(2); // both read the same resource-lists version first
    const [a, b] = await Promise.all([
      book.addContact({ name: "Grace", uris: ["sip:grace@example.test"] }),
      book.blockUri("sip:zed@example.test"),
    ]);
    expect(server.requests.some((r) => r.method === "PUT" && r.status === 412)).toBe(true);
    const model = parseAddressBook(doc(RL), null);
    expect(model.contacts.map((c) => c.id)).toContain(a.id);
    expect(b.model.presence.blocked).toContain("sip:zed@example.test");
    expect(model.policies.map((p) => p.uri)).toContain("sip:zed@example.test");
    expect(entries(doc(RL), LIST.presenceGranted)).toContain("sip:grace@example.test");
    expect(entries(doc(RL), LIST.presenceBlocked)).toContain("sip:zed@example.test");
  });

  it("converges a half-applied edit and then writes nothing more (idempotent)", async () => {
    // resource-lists was written by an edit whose later steps never happened
    server.seed(RL, fixture("resource-lists.xml"));
    server.seed(PR, fixture("pres-rules.xml"));
    await book.normalize();
    expect(puts()).toEqual(["resource-lists", "rls-services", "org.openmobilealliance.pres-rules"]);
    expect(service(doc(RLS), "sip:alice+dialog@example.test")).toBeDefined();
    server.requests.length = 0;
    await book.normalize();
    await book.setDefaultPolicy("polite-block"); // already the fixture's effective value
    expect(puts()).toEqual([]);
  });

  it("covers the group and contact lifecycle", async () => {
    const g = await book.createGroup({ name: "Friends" });
    const c = await book.addContact({ name: "Bob", uris: ["sip:bob@example.test"], groups: [g.id] });
    expect(c.groups).toEqual([g.id]);
    const h = await book.createGroup({ name: "Work" });
    expect((await book.moveContact(c.id, h.id)).groups).toEqual([h.id]);
    expect((await book.renameGroup(h.id, "Office")).name).toBe("Office");
    expect((await book.editContact(c.id, { presence: { subscribe: false } })).presence).toEqual({ policy: "allow", subscribe: false });
    expect(entries(doc(RL), LIST.presenceRls)).toEqual([]);
    await book.unblockUri("sip:bob@example.test");
    await book.blockUri("sip:bob@example.test");
    expect(entries(doc(RL), LIST.presenceBlocked)).toEqual(["sip:bob@example.test"]);
    const after = await book.deleteGroup(h.id, { deleteContacts: true });
    expect(after.contacts).toEqual([]);
    expect(after.groups.map((x) => x.name)).toEqual(["Friends"]);
    expect(entries(doc(RL), LIST.presenceBlocked)).toEqual([]);
  });
});
