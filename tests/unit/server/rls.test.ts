/**
 * RLS pieces without sockets: the service resolver (Blink's quoted documents, nesting, cycles,
 * other users' trees), and lib/presence's multipart/RLMI parser reading Kamailio 5.6's captured
 * RLS NOTIFYs (../shared/fixtures) as well as a body Herald composes the way the RLS does.
 */
import { describe, expect, it, vi } from "vitest";
import { DOMImplementation } from "@xmldom/xmldom";
import { composeRlsNotifyBody, parseMultipartRelated, parsePidf, partText } from "@/lib/presence";
import { ServiceResolver } from "@/lib/server/rls";
import { expectValidXml } from "../presence/xsd";
import { bodiesOfType, toCrlf } from "../presence/fixtures";
import { RlsXcap, blinkQuote, listRef, resourceListsXml, rlsServicesXml } from "../../integration/server/rls-harness";

const ALICE = "sip:alice@example.test";

/** NOTIFY bodies of a fixture file (lib/presence's fixture reader), with CRLF restored. */
function fixtureNotifies(file: string): Array<{ contentType: string; body: Uint8Array }> {
  return bodiesOfType(file, "multipart/related").map((m) => ({ contentType: m.headers.get("content-type") as string, body: new TextEncoder().encode(toCrlf(m.body)) }));
}

describe("lib/presence reads Kamailio's RLS NOTIFYs", () => {
  it("rls-notify-with-bob: full-state RLMI, bob active with his PIDF by cid, carol without an instance", () => {
    const notifies = fixtureNotifies("rls-notify-with-bob.txt");
    expect(notifies.length).toBeGreaterThan(0);
    const mps = notifies.map((n) => parseMultipartRelated(n.contentType, n.body));
    for (const m of mps) expect(m.rlmi).toMatchObject({ uri: "sip:alice+presence@example.test", fullState: true });
    const m2 = mps.find((m) => m.rlmi!.version === 2)!;
    expect(m2.rlmi!.resources.map((r) => [r.uri, r.instances.length])).toEqual([["sip:bob@example.test", 1], ["sip:carol@example.test", 0]]);
    const bob = m2.rlmi!.resources[0]!.instances[0]!;
    expect(bob).toMatchObject({ state: "active", cid: "1795312906.sip:bob@example.test.1315941959" });
    expect(parsePidf(partText(m2.byContentId.get(bob.cid!)!)).entity).toBe("sip:bob@example.test");
  });

  it("a body composed as Herald's RLS composes it round-trips and validates against rlmi.xsd", async () => {
    const pidf = `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@example.test"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`;
    const c = composeRlsNotifyBody(
      {
        uri: "sip:alice+presence@example.test",
        version: 3,
        fullState: false,
        names: [],
        resources: [
          { uri: "sip:bob@example.test", names: [{ text: "Bob" }], instances: [{ id: "i1", state: "active", cid: "i1.3@example.test" }] },
          { uri: "sip:dave@example.test", names: [], instances: [{ id: "i2", state: "terminated", reason: "rejected" }] },
        ],
      },
      [{ contentId: "i1.3@example.test", contentType: "application/pidf+xml", body: pidf }],
    );
    const mp = parseMultipartRelated(c.contentType, c.body);
    expect(mp.rlmi).toMatchObject({ version: 3, fullState: false });
    expect(partText(mp.byContentId.get("i1.3@example.test")!)).toBe(pidf);
    await expectValidXml(partText(mp.root));
  });
});

describe("ServiceResolver", () => {
  it("follows Blink's quoted rls-services → resource-lists reference and collapses duplicates", async () => {
    const x = new RlsXcap();
    await x.put(ALICE, "resource-lists", resourceListsXml({ sipsimple_presence_rls: ["sip:bob@example.test", "sip:bob@EXAMPLE.test", "sip:carol@example.test;transport=tcp"] }));
    await x.put(ALICE, "rls-services", rlsServicesXml(ALICE, "alice"));
    const r = new ServiceResolver({ store: x.store });
    const s = await r.resolve("sip:alice+presence@example.test");
    expect(s).toMatchObject({ owner: ALICE, packages: ["presence"] });
    expect(s!.resources.map((e) => e.uri)).toEqual(["sip:bob@example.test", "sip:carol@example.test"]);
    expect(await r.resolve("sip:nobody+presence@example.test")).toBeUndefined();
  });

  it("reads Blink's documents without building xmldom's DOM (the read-only tree)", async () => {
    const x = new RlsXcap();
    await x.put(ALICE, "resource-lists", resourceListsXml({ sipsimple_presence_rls: ["sip:bob@example.test", "sip:carol@example.test"] }));
    await x.put(ALICE, "rls-services", rlsServicesXml(ALICE, "alice"));
    const documents = vi.spyOn(DOMImplementation.prototype, "createDocument");
    try {
      const s = await new ServiceResolver({ store: x.store }).resolve("sip:alice+presence@example.test");
      expect(s!.resources.map((e) => e.uri)).toEqual(["sip:bob@example.test", "sip:carol@example.test"]);
      expect(documents).not.toHaveBeenCalled();
    } finally {
      documents.mockRestore();
    }
  });

  it("ignores references into another user's tree and stops on reference cycles", async () => {
    const x = new RlsXcap();
    await x.put("sip:bob@example.test", "resource-lists", resourceListsXml({ secret: ["sip:mallory@example.test"] }));
    await x.put(
      ALICE,
      "resource-lists",
      `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list name="a"><entry uri="sip:bob@example.test"/><external anchor="${blinkQuote(listRef(ALICE, "b"))}"/></list>
  <list name="b"><entry uri="sip:carol@example.test"/><external anchor="${listRef(ALICE, "a")}"/><external anchor="${listRef("sip:bob@example.test", "secret")}"/></list>
</resource-lists>`,
    );
    await x.put(ALICE, "rls-services", rlsServicesXml(ALICE, "alice", "a"));
    const s = await new ServiceResolver({ store: x.store }).resolve("sip:alice+presence@example.test");
    expect(s!.resources.map((e) => e.uri)).toEqual(["sip:bob@example.test", "sip:carol@example.test"]);
  });
});
