/**
 * Virtual presentities' watcher rules (lib/presence/watcher-rules.ts) and the permanent status in
 * pidf-manipulation (lib/presence/pidf-manipulation.ts): schema-valid documents, what they decide,
 * and that the permanent note and the offline status never overwrite each other.
 */
import { describe, expect, it } from "vitest";
import {
  composePidf,
  composePresence,
  composeWatcherRules,
  evaluatePresRules,
  offlineStatusOf,
  parsePidf,
  parsePresRules,
  permanentNoteOf,
  summarizePresence,
  watchersOfRules,
  withPermanentNote,
} from "@/lib/presence";
import { expectValidXml } from "./xsd";

const decide = (xml: string, uri: string, authenticated = true) => evaluatePresRules(parsePresRules(xml), { uri, authenticated }).subHandling;

describe("watcher rules of a virtual presentity", () => {
  it("allow every user of the listed domains and the listed addresses, block everyone else", async () => {
    const xml = composeWatcherRules({ domains: ["example.test"], addresses: ["sip:carol@other.test"] });
    await expectValidXml(xml);
    expect(decide(xml, "sip:alice@example.test")).toBe("allow");
    expect(decide(xml, "sip:carol@other.test")).toBe("allow");
    expect(decide(xml, "sip:dave@other.test")).toBe("block");
    expect(decide(xml, "sip:alice@example.test", false)).toBe("block"); // identity needs authentication (RFC 4745 §7.1)
    const granted = evaluatePresRules(parsePresRules(xml), { uri: "sip:alice@example.test", authenticated: true });
    expect(granted.transformationsDefaulted).toBe(false);
    expect(granted.transformations.provideAllAttributes).toBe(true);
  });

  it("read back as they were written; nothing listed blocks everybody", async () => {
    const w = { domains: ["example.test", "branch.example.test"], addresses: ["sip:carol@other.test"] };
    expect(watchersOfRules(parsePresRules(composeWatcherRules(w)))).toEqual(w);
    const none = composeWatcherRules({ domains: [], addresses: [] });
    await expectValidXml(none);
    expect(watchersOfRules(parsePresRules(none))).toEqual({ domains: [], addresses: [] });
    expect(decide(none, "sip:alice@example.test")).toBe("block");
  });
});

describe("permanent status (presence-level note of pidf-manipulation)", () => {
  const entity = "sip:alice@example.test";
  const offline = composePidf({ entity, basic: "closed", extended: "offline", note: "Back on Monday", tupleId: "offline_status_tuple", personId: "offline_status" });

  it("is added beside the offline status, which stays as it was", async () => {
    const xml = withPermanentNote(offline, entity, "On leave until 3 January")!;
    await expectValidXml(xml);
    const doc = parsePidf(xml);
    expect(permanentNoteOf(doc)).toBe("On leave until 3 January");
    expect(offlineStatusOf(doc)).toEqual({ set: true, note: "Back on Monday" });
    // cleared: exactly the offline status again
    const cleared = withPermanentNote(xml, entity, null)!;
    expect(permanentNoteOf(parsePidf(cleared))).toBeUndefined();
    expect(offlineStatusOf(parsePidf(cleared))).toEqual({ set: true, note: "Back on Monday" });
  });

  it("alone makes a document with only the note, and clearing it leaves nothing to keep", async () => {
    const xml = withPermanentNote(undefined, entity, "On leave until 3 January")!;
    await expectValidXml(xml);
    expect(offlineStatusOf(parsePidf(xml))).toEqual({ set: false, note: undefined });
    expect(withPermanentNote(xml, entity, " ")).toBeNull();
    expect(withPermanentNote(undefined, entity, null)).toBeNull();
  });

  it("is what watchers see beside a device's own state, and with no device at all", () => {
    const manipulation = parsePidf(withPermanentNote(offline, entity, "On leave until 3 January")!);
    const device = { document: parsePidf(composePidf({ entity, extended: "busy" })), publishedAt: Date.now() };
    const online = summarizePresence(composePresence(entity, [device], { manipulation }).document);
    expect(online.availability).toBe("busy");
    expect(online.notes.map((n) => n.text)).toEqual(["On leave until 3 January"]);
    const away = summarizePresence(composePresence(entity, [], { manipulation }).document);
    expect(away.availability).toBe("offline");
    expect(away.notes.map((n) => n.text)).toEqual(["Back on Monday", "On leave until 3 January"]);
  });
});
