import { describe, expect, it } from "vitest";
import { composePidf } from "../../../lib/presence/pidf-composer";
import { parsePidf } from "../../../lib/presence/pidf-parser";
import { PresencePayloadError } from "../../../lib/presence/errors";
import { bodiesOfType } from "./fixtures";
import { expectValidXml } from "./xsd";

const BLINK = `<?xml version='1.0' encoding='UTF-8'?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:agp-caps="urn:ag-projects:xml:ns:pidf:caps" xmlns:agp-pidf="urn:ag-projects:xml:ns:pidf" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" xmlns:caps="urn:ietf:params:xml:ns:pidf:caps" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:x="urn:example:unknown" entity="sip:alice@example.test">
  <tuple id="SID-c5b2d5a0-0000-4000-8000-000000000001">
    <status><basic>open</basic><agp-pidf:extended>busy</agp-pidf:extended></status>
    <dm:deviceID>c5b2d5a0-0000-4000-8000-000000000001</dm:deviceID>
    <rpid:user-input idle-threshold="600" last-input="2026-01-01T10:00:00Z">idle</rpid:user-input>
    <c:display-name>Alice</c:display-name>
    <c:icon>http://xcap.example.test/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index#blink-icon0123</c:icon>
    <c:homepage>https://alice.example.test/</c:homepage>
    <agp-pidf:device-info id="c5b2d5a0-0000-4000-8000-000000000001"><agp-pidf:description>laptop</agp-pidf:description><agp-pidf:user-agent>Blink 5.6</agp-pidf:user-agent><agp-pidf:time-offset>120</agp-pidf:time-offset></agp-pidf:device-info>
    <caps:servcaps><caps:audio>true</caps:audio><caps:message>true</caps:message><caps:text>false</caps:text><caps:video>false</caps:video><agp-caps:file-transfer>true</agp-caps:file-transfer><agp-caps:screen-sharing-server>false</agp-caps:screen-sharing-server></caps:servcaps>
    <x:mystery a="1">keep me</x:mystery>
    <contact priority="0.5">sip:alice@example.test;gr=urn:uuid:c5b2d5a0</contact>
    <note xml:lang="en">In a meeting</note>
    <note xml:lang="de">In einer Besprechung</note>
    <timestamp>2026-01-01T10:05:00Z</timestamp>
  </tuple>
  <dm:person id="PID-1">
    <rpid:activities><rpid:meeting/><rpid:other>code review</rpid:other></rpid:activities>
    <rpid:mood><rpid:happy/></rpid:mood>
    <rpid:place-type><rpid:other>office</rpid:other></rpid:place-type>
    <rpid:sphere><rpid:work/></rpid:sphere>
    <rpid:time-offset description="Berlin">60</rpid:time-offset>
    <x:other-thing/>
    <dm:note>Person note</dm:note>
    <dm:timestamp>2026-01-01T10:05:00Z</dm:timestamp>
  </dm:person>
  <dm:device id="DID-1"><rpid:user-input>active</rpid:user-input><dm:deviceID>c5b2d5a0-0000-4000-8000-000000000001</dm:deviceID><dm:note>Blink 5.6 at laptop</dm:note></dm:device>
  <x:top-level/>
</presence>`;

describe("parsePidf", () => {
  it("reads a Blink document into the typed model and keeps unknown elements", () => {
    const doc = parsePidf(BLINK);
    expect(doc.entity).toBe("sip:alice@example.test");
    const t = doc.tuples[0];
    expect(t).toMatchObject({
      id: "SID-c5b2d5a0-0000-4000-8000-000000000001",
      basic: "open",
      extendedStatus: "busy",
      contact: "sip:alice@example.test;gr=urn:uuid:c5b2d5a0",
      priority: 0.5,
      deviceId: "c5b2d5a0-0000-4000-8000-000000000001",
      displayName: "Alice",
      homepage: "https://alice.example.test/",
      timestamp: "2026-01-01T10:05:00Z",
      userInput: { value: "idle", idleThreshold: 600, lastInput: "2026-01-01T10:00:00Z" },
      deviceInfo: { id: "c5b2d5a0-0000-4000-8000-000000000001", description: "laptop", userAgent: "Blink 5.6", timeOffset: { value: 120 } },
    });
    expect(t.notes).toEqual([
      { text: "In a meeting", lang: "en" },
      { text: "In einer Besprechung", lang: "de" },
    ]);
    expect(t.capabilities).toMatchObject({ audio: true, message: true, text: false, video: false, agp: { "file-transfer": true, "screen-sharing-server": false } });
    expect(t.extensions.map((e) => e.localName)).toEqual(["mystery"]);
    expect(t.extensions[0].textContent).toBe("keep me");
    const p = doc.persons[0];
    expect(p.activities).toMatchObject({ values: ["meeting"], other: [{ text: "code review" }] });
    expect(p.mood?.values).toEqual(["happy"]);
    expect(p.placeType?.other).toEqual([{ text: "office" }]);
    expect(p.sphere).toBe("work");
    expect(p.timeOffset).toEqual({ value: 60, description: "Berlin" });
    expect(p.notes).toEqual([{ text: "Person note" }]);
    expect(p.extensions.map((e) => e.localName)).toEqual(["other-thing"]);
    expect(doc.devices[0]).toMatchObject({ id: "DID-1", deviceId: "c5b2d5a0-0000-4000-8000-000000000001", userInput: { value: "active" } });
    expect(doc.extensions.map((e) => e.localName)).toEqual(["top-level"]);
  });

  it("parses every PIDF body Kamailio sent", () => {
    const files = ["presence-notify-active-pidf.txt", "pidf-manipulation.txt", "pua-usrloc-open.txt", "pua-usrloc-closed.txt", "publish.txt", "publish-modify.txt"];
    let count = 0;
    for (const f of files) {
      for (const m of bodiesOfType(f, "application/pidf+xml")) {
        const doc = parsePidf(m.body);
        expect(doc.entity).toMatch(/^sip:/);
        count++;
      }
    }
    expect(count).toBeGreaterThan(3);
    const [notify] = bodiesOfType("presence-notify-active-pidf.txt", "application/pidf+xml");
    const doc = parsePidf(notify.body);
    expect(doc.tuples.map((t) => [t.id, t.basic])).toEqual([["t-alice-1", "open"], ["0x7f33e1f6f5a8", "open"]]);
    expect(doc.tuples[0]).toMatchObject({ contact: "sip:alice@example.test", priority: 0.8, notes: [{ text: "Alice note one" }] });
    expect(doc.persons[0].activities?.values).toEqual(["unknown"]);
  });

  it("reads bytes and rejects what is not PIDF", () => {
    expect(parsePidf(new TextEncoder().encode('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>')).entity).toBe("sip:a@b");
    const codes = ['<presence entity="sip:a@b"/>', '<presence xmlns="urn:ietf:params:xml:ns:pidf"/>', "<presence", '<!DOCTYPE x [<!ENTITY a "b">]><x/>'].map((s) => {
      try {
        parsePidf(s);
        return "parsed";
      } catch (e) {
        expect(e).toBeInstanceOf(PresencePayloadError);
        expect((e as PresencePayloadError).status).toBe(400);
        return (e as PresencePayloadError).code;
      }
    });
    expect(codes).toEqual(["wrong-root", "missing-attribute", "not-xml", "not-xml"]);
  });
});

describe("composePidf", () => {
  const input = {
    entity: "sip:alice@example.test",
    basic: "open" as const,
    extended: "away" as const,
    note: "Back at 3",
    notes: [{ text: "Zurück um 3", lang: "de" }, "Back at 3"],
    homepage: "https://alice.example.test/",
    iconUrl: "http://xcap.example.test/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index#blink-icon1234",
    displayName: "Alice & Co <3",
    deviceId: "c5b2d5a0-0000-4000-8000-000000000001",
    userAgent: "Herald/0.1",
    deviceDescription: "browser",
    timeOffset: 60,
    capabilities: { audio: true, video: false, text: true, message: true, fileTransfer: false, screenSharingServer: false, screenSharingClient: false, methods: ["MESSAGE", "INVITE", "FOO"], eventPackages: ["presence", "dialog"] },
    userInput: { value: "active" as const, idleThreshold: 600 },
    timestamp: "2026-01-01T12:00:00Z",
  };

  it("produces a schema-valid document", async () => {
    await expectValidXml(composePidf(input));
    await expectValidXml(composePidf({ entity: "sip:bob@example.test" }));
    await expectValidXml(composePidf({ entity: "sip:bob@example.test", basic: "closed", extended: "offline", activities: ["on-the-phone", "coding"] }));
  });

  it("round-trips through the parser", () => {
    const doc = parsePidf(composePidf(input));
    const t = doc.tuples[0];
    expect(t).toMatchObject({
      id: "SID-c5b2d5a0-0000-4000-8000-000000000001",
      basic: "open",
      extendedStatus: "away",
      homepage: input.homepage,
      icon: input.iconUrl,
      displayName: "Alice & Co <3",
      contact: "sip:alice@example.test",
      deviceId: input.deviceId,
      deviceInfo: { id: input.deviceId, description: "browser", userAgent: "Herald/0.1", timeOffset: { value: 60 } },
      userInput: { value: "active", idleThreshold: 600 },
      timestamp: "2026-01-01T12:00:00Z",
    });
    expect(t.notes).toEqual([{ text: "Back at 3" }, { text: "Zurück um 3", lang: "de" }]);
    expect(t.capabilities).toMatchObject({ audio: true, video: false, text: true, message: true, agp: { "file-transfer": false }, methods: { supported: ["INVITE", "MESSAGE"] }, eventPackages: { supported: ["dialog", "presence"] } });
    expect(doc.persons[0].activities?.values).toEqual(["away"]);
    expect(doc.persons[0].notes).toHaveLength(2);
    expect(doc.devices[0]).toMatchObject({ id: "DID-c5b2d5a0-0000-4000-8000-000000000001", notes: [{ text: "Herald/0.1 at browser" }] });
  });

  it("maps unknown activities to rpid:other", () => {
    const doc = parsePidf(composePidf({ entity: "sip:a@example.test", activities: ["meeting", "coding"] }));
    expect(doc.persons[0].activities).toMatchObject({ values: ["meeting"], other: [{ text: "coding" }] });
  });
});
