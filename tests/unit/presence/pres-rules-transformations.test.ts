import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { composePidf } from "../../../lib/presence/pidf-composer";
import { parsePidf } from "../../../lib/presence/pidf-parser";
import { parsePresRules } from "../../../lib/presence/pres-rules";
import { evaluatePresRules } from "../../../lib/presence/pres-rules-evaluation";
import { applyTransformations, neutralPresence } from "../../../lib/presence/pres-rules-transformations";
import { expectValidXml } from "./xsd";

const RFC5025 = readFileSync(new URL("../../fixtures/presence/rfc5025-example.xml", import.meta.url), "utf8");
const ENTITY = "sip:alice@example.test";
const FULL = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" xmlns:foo="urn:vendor-specific:foo-namespace" entity="${ENTITY}">
  <tuple id="sip-service">
    <status><basic>open</basic></status>
    <dm:deviceID>urn:uuid:d1</dm:deviceID>
    <rpid:user-input idle-threshold="600" last-input="2026-01-01T10:00:00Z">idle</rpid:user-input>
    <c:icon>http://x/icon</c:icon>
    <foo:foo>vendor</foo:foo>
    <foo:bar>secret</foo:bar>
    <contact>sip:alice@example.test</contact>
    <note>tuple note</note>
  </tuple>
  <tuple id="tel-service"><status><basic>open</basic></status><contact>tel:+15551234</contact></tuple>
  <tuple id="mail-service"><status><basic>open</basic></status><contact>mailto:alice@example.test</contact></tuple>
  <note>presence note</note>
  <dm:person id="p1">
    <rpid:activities><rpid:note>why</rpid:note><rpid:meeting/></rpid:activities>
    <rpid:mood><rpid:happy/></rpid:mood>
    <rpid:sphere><rpid:work/></rpid:sphere>
    <dm:note>person note</dm:note>
  </dm:person>
  <dm:device id="d1"><dm:deviceID>urn:uuid:d1</dm:deviceID></dm:device>
</presence>`;

describe("applyTransformations", () => {
  const pidf = parsePidf(FULL);

  it("RFC 5025 example: sip/mailto services, all persons, activities, bare user-input, vendor foo", async () => {
    const perms = evaluatePresRules(parsePresRules(RFC5025), { uri: "sip:user@example.com", authenticated: true });
    const out = applyTransformations(pidf, perms);
    await expectValidXml(out.xml);
    const d = out.document;
    expect(d.tuples.map((t) => t.id)).toEqual(["sip-service", "mail-service"]);
    const t = d.tuples[0];
    expect(t.userInput).toEqual({ value: "idle" });
    expect(t.deviceId).toBeUndefined(); // no provide-deviceID
    expect(t.icon).toBeUndefined(); // CIPID needs provide-unknown-attribute
    expect(t.extensions.map((e) => e.localName)).toEqual(["foo"]);
    expect(t.notes).toEqual([]);
    expect(t.contact).toBe("sip:alice@example.test");
    expect(d.notes).toEqual([]);
    expect(d.persons[0].activities).toMatchObject({ values: ["meeting"], notes: [] });
    expect(d.persons[0].mood).toBeUndefined();
    expect(d.persons[0].sphere).toBeUndefined();
    expect(d.persons[0].notes).toEqual([]);
    expect(d.devices).toEqual([]);
    // the input is untouched
    expect(parsePidf(FULL).tuples).toHaveLength(3);
    expect(pidf.tuples[0].icon).toBe("http://x/icon");
  });

  it("provide-all-attributes with all components is the identity", async () => {
    const perms = evaluatePresRules(
      parsePresRules(`<cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><cr:rule id="x"><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions><cr:transformations><pr:provide-services><pr:all-services/></pr:provide-services><pr:provide-persons><pr:all-persons/></pr:provide-persons><pr:provide-devices><pr:all-devices/></pr:provide-devices><pr:provide-all-attributes/></cr:transformations></cr:rule></cr:ruleset>`),
      { uri: "sip:x@y", authenticated: true },
    );
    const out = applyTransformations(pidf, perms);
    await expectValidXml(out.xml);
    expect(out.document.tuples).toHaveLength(3);
    expect(out.document.tuples[0].userInput).toEqual({ value: "idle", idleThreshold: 600, lastInput: "2026-01-01T10:00:00Z" });
    expect(out.document.persons[0].mood?.values).toEqual(["happy"]);
    expect(out.document.notes).toEqual([{ text: "presence note" }]);
    expect(out.document.devices).toHaveLength(1);
  });

  it("device selection by deviceID, notes, thresholds", () => {
    const perms = evaluatePresRules(
      parsePresRules(`<cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"><cr:rule id="x"><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions><cr:transformations><pr:provide-services><pr:occurrence-id>tel-service</pr:occurrence-id></pr:provide-services><pr:provide-devices><pr:deviceID>urn:uuid:d1</pr:deviceID></pr:provide-devices><pr:provide-note>true</pr:provide-note></cr:transformations></cr:rule></cr:ruleset>`),
      { uri: "sip:x@y", authenticated: true },
    );
    const out = applyTransformations(pidf, perms).document;
    expect(out.tuples.map((t) => t.id)).toEqual(["tel-service"]);
    expect(out.devices.map((d) => d.deviceId)).toEqual(["urn:uuid:d1"]);
    expect(out.notes).toEqual([{ text: "presence note" }]);
    expect(out.persons).toEqual([]);
  });

  it("Blink's granted rule (no transformations) shows the whole Blink document", async () => {
    const blink = parsePidf(composePidf({ entity: ENTITY, extended: "away", note: "hi", iconUrl: "http://x/i", capabilities: { audio: true, fileTransfer: true }, userAgent: "Blink" }));
    const perms = evaluatePresRules(
      parsePresRules(readFileSync(new URL("../../fixtures/presence/blink-pres-rules.xml", import.meta.url), "utf8")),
      { uri: ENTITY, authenticated: true },
    );
    const out = applyTransformations(blink, perms);
    await expectValidXml(out.xml);
    expect(out.document.tuples[0]).toMatchObject({ extendedStatus: "away", icon: "http://x/i", notes: [{ text: "hi" }] });
  });

  it("polite-block (and anything but allow) yields a neutral closed document", async () => {
    for (const subHandling of ["polite-block", "confirm", "block"] as const) {
      const out = applyTransformations(pidf, { subHandling, matchedRules: [], transformations: { booleans: {}, unknownAttributes: {} }, transformationsDefaulted: false });
      await expectValidXml(out.xml);
      expect(out.document.tuples.map((t) => [t.id, t.basic])).toEqual([["neutral", "closed"]]);
      expect(out.document.persons).toEqual([]);
      expect(out.document.notes).toEqual([]);
      expect(out.document.entity).toBe(ENTITY);
    }
    expect(neutralPresence(ENTITY).xml).not.toContain("note");
  });
});
