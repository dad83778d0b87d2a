import { describe, expect, it } from "vitest";
import { composePidf } from "../../../lib/presence/pidf-composer";
import { parsePidf } from "../../../lib/presence/pidf-parser";
import { parsePidfManipulation } from "../../../lib/presence/pidf-manipulation";
import { composePresence, userStateOf } from "../../../lib/presence/presence-composition";
import { summarizePresence } from "../../../lib/presence/presence-summary";
import { bodiesOfType } from "./fixtures";
import { expectValidXml } from "./xsd";

const ENTITY = "sip:alice@example.test";
const pub = (xml: string, publishedAt: number, expiresAt?: number) => ({ document: parsePidf(xml), publishedAt, expiresAt });
const laptop = composePidf({ entity: ENTITY, extended: "busy", note: "laptop", deviceId: "aaaa-1", timestamp: "2026-01-01T10:00:00Z" });
const phone = composePidf({ entity: ENTITY, extended: "available", note: "phone", deviceId: "bbbb-2", contact: "sip:alice@example.test;gr=urn:uuid:bbbb-2", timestamp: "2026-01-01T11:00:00Z" });
const custom = `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:v="urn:vendor:x" entity="${ENTITY}"><tuple id="c1"><status><basic>open</basic><v:state>hacking</v:state></status><v:extra v:flag="1">kept</v:extra></tuple><note>top note</note><v:top>top-level ext</v:top></presence>`;

describe("composePresence", () => {
  it("merges the tuples, persons and devices of all live publications, keeping ids and namespaces", async () => {
    const r = composePresence(ENTITY, [pub(laptop, 1), pub(phone, 2), pub(custom, 3)], { now: 10 });
    await expectValidXml(r.xml);
    expect(r.published).toBe(true);
    expect(r.document.tuples.map((t) => t.id)).toEqual(["SID-aaaa-1", "SID-bbbb-2", "c1"]);
    expect(r.document.devices.map((d) => d.id)).toEqual(["DID-aaaa-1", "DID-bbbb-2"]);
    const c1 = r.document.tuples[2];
    expect(c1.extensions[0].namespaceURI).toBe("urn:vendor:x");
    expect(c1.extensions[0].getAttributeNS("urn:vendor:x", "flag")).toBe("1");
    expect(r.xml).toContain("<v:state>hacking</v:state>");
    expect(r.document.notes).toEqual([{ text: "top note" }]);
    expect(r.document.extensions.map((e) => e.localName)).toEqual(["top"]);
    expect(summarizePresence(r.document).availability).toBe("available");
  });

  it("resolves duplicate ids by the most recent publication and drops expired ones", () => {
    const older = composePidf({ entity: ENTITY, extended: "away", note: "old", deviceId: "aaaa-1" });
    const newer = composePidf({ entity: ENTITY, extended: "busy", note: "new", deviceId: "aaaa-1" });
    const r = composePresence(ENTITY, [pub(newer, 20), pub(older, 10)], { now: 30 });
    expect(r.document.tuples).toHaveLength(1);
    expect(r.document.tuples[0]).toMatchObject({ extendedStatus: "busy", notes: [{ text: "new" }] });
    expect(r.document.persons).toHaveLength(1);
    const expired = composePresence(ENTITY, [pub(newer, 20, 25), pub(older, 10)], { now: 30 });
    expect(expired.document.tuples[0].extendedStatus).toBe("away");
  });

  it("adds open tuples for registered devices that do not publish", async () => {
    const r = composePresence(ENTITY, [pub(phone, 1)], {
      now: 10,
      registrations: [
        { contact: "sip:alice@10.0.0.2:5060;transport=tcp", instanceId: "<urn:uuid:BBBB-2>", q: 0.5 }, // the phone: described
        { contact: "sip:alice@10.0.0.3:5060", q: 0.8 }, // a desk phone that does not publish
        { contact: "sip:alice@10.0.0.4:5060", state: "unregistered" },
      ],
    });
    await expectValidXml(r.xml);
    const reg = r.document.tuples.filter((t) => t.id.startsWith("reg-"));
    expect(reg.map((t) => [t.basic, t.contact, t.priority])).toEqual([
      ["open", "sip:alice@10.0.0.3:5060", 0.8],
      ["closed", "sip:alice@10.0.0.4:5060", undefined],
    ]);
  });

  it("merges pidf-manipulation only when nobody publishes, its permanent note always", async () => {
    const manipulation = parsePidfManipulation(
      `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="${ENTITY}">
        <tuple id="offline-1"><status><basic>closed</basic></status><note>On vacation until Monday</note></tuple>
        <note>Call my office</note>
        <dm:person id="p-off"><dm:note>away</dm:note></dm:person>
      </presence>`,
    );
    const offline = composePresence(ENTITY, [], { now: 10, manipulation });
    await expectValidXml(offline.xml);
    expect(offline.published).toBe(false);
    expect(offline.document.tuples.map((t) => t.id)).toEqual(["offline-1"]);
    expect(summarizePresence(offline.document)).toMatchObject({ availability: "offline", note: "On vacation until Monday" });
    const online = composePresence(ENTITY, [pub(phone, 1)], { now: 10, manipulation });
    expect(online.document.tuples.map((t) => t.id)).toEqual(["SID-bbbb-2"]);
    expect(online.document.persons.map((p) => p.id)).not.toContain("p-off");
    expect(online.document.notes).toEqual([{ text: "Call my office" }]);
    // registration tuples do not count as publishing
    const registered = composePresence(ENTITY, [], { now: 10, manipulation, registrations: [{ contact: "sip:alice@10.0.0.3" }] });
    expect(registered.document.tuples.map((t) => t.id)).toEqual(["offline-1", expect.stringMatching(/^reg-/)]);
  });

  it("reads Kamailio's pidf-manipulation body and yields one closed tuple when empty", async () => {
    const [m] = bodiesOfType("pidf-manipulation.txt", "application/pidf+xml");
    const manipulation = parsePidfManipulation(m.body);
    expect(composePresence("sip:carol@example.test", [], { manipulation }).document.tuples[0].notes[0].text).toBe("Carol static via pidf-manipulation");
    const empty = composePresence(ENTITY, []);
    await expectValidXml(empty.xml);
    expect(empty.document.tuples.map((t) => [t.id, t.basic])).toEqual([["offline", "closed"]]);
  });

  it("redeclares clashing prefixes locally", async () => {
    const a = `<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" xmlns:x="urn:one" entity="${ENTITY}"><p:tuple id="a"><p:status><p:basic>open</p:basic></p:status><x:e>1</x:e></p:tuple></p:presence>`;
    const b = `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:x="urn:two" entity="${ENTITY}"><tuple id="b"><status><basic>open</basic></status><x:e>2</x:e></tuple></presence>`;
    const r = composePresence(ENTITY, [pub(a, 1), pub(b, 2)]);
    await expectValidXml(r.xml);
    const back = parsePidf(r.xml);
    expect(back.tuples.map((t) => t.extensions[0].namespaceURI)).toEqual(["urn:one", "urn:two"]);
  });
});

describe("userStateOf: the newest status the user chose", () => {
  const tab = (extended: "available" | "busy" | "offline", at: string, opts: { idle?: boolean; basic?: "open" | "closed"; device?: string } = {}) =>
    composePidf({ entity: ENTITY, extended, basic: opts.basic, deviceId: opts.device ?? at, timestamp: at, ...(opts.idle ? { userInput: { value: "idle" } } : {}) });

  it("takes the newest explicit status, whichever device set it", () => {
    const s = userStateOf([pub(tab("available", "2026-01-01T10:00:00Z"), 1), pub(tab("busy", "2026-01-01T11:00:00Z"), 2)], 10);
    expect(s?.tuple.extendedStatus).toBe("busy");
    expect(s?.invisible).toBe(false);
  });

  it("ignores an idle device's auto-away and expired publications", () => {
    const s = userStateOf(
      [pub(tab("available", "2026-01-01T10:00:00Z"), 1), pub(tab("busy", "2026-01-01T12:00:00Z", { idle: true }), 2), pub(tab("busy", "2026-01-01T13:00:00Z"), 3, 5)],
      10,
    );
    expect(s?.tuple.extendedStatus).toBe("available");
  });

  it("recognises Invisible as extended offline, closed (Herald) or open (Blink)", () => {
    expect(userStateOf([pub(tab("offline", "2026-01-01T10:00:00Z", { basic: "closed" }), 1)], 10)?.invisible).toBe(true);
    expect(userStateOf([pub(tab("offline", "2026-01-01T10:00:00Z", { basic: "open" }), 1)], 10)?.invisible).toBe(true);
    expect(userStateOf([pub(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${ENTITY}"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`, 1)], 10)).toBeUndefined();
  });
});
