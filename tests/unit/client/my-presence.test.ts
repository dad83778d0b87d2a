import { describe, expect, it } from "vitest";
import { composeMyPidf, presenceListUri, tabInstanceId, INSTANCE_ID_STORAGE_KEY, credentialsExpiry } from "@/lib/client";
import { iconUrlWithHash, parsePidf, summarizePresence } from "@/lib/presence";
import { expectValidXml } from "../presence/xsd";

const device = { deviceId: "0d9f7c52-5d7e-4a8e-9d0c-2f8f3f7f1a11", userAgent: "Herald", description: "Chromium on Linux", timeOffset: 60 };

describe("the PIDF this tab publishes", () => {
  it("is Blink-compatible: extended status, activities, note, icon, homepage, device-info, caps", () => {
    const icon = iconUrlWithHash("https://x.test/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index", "png-bytes");
    const xml = composeMyPidf("sip:alice@example.test", { status: "busy", note: "On a call", homepage: "https://alice.test", iconUrl: icon }, device, new Date("2025-01-01T00:00:00Z"));
    expect(xml).toContain("<agp-pidf:extended>busy</agp-pidf:extended>");
    expect(xml).toContain("<caps:message>true</caps:message>");
    const doc = parsePidf(xml);
    const t = doc.tuples[0];
    expect(t).toMatchObject({ basic: "open", extendedStatus: "busy", deviceId: device.deviceId, icon, homepage: "https://alice.test" });
    expect(t.deviceInfo).toMatchObject({ id: device.deviceId, userAgent: "Herald", description: "Chromium on Linux", timeOffset: { value: 60 } });
    expect(doc.persons[0].activities?.values).toEqual(["busy"]);
    const s = summarizePresence(doc);
    expect(s).toMatchObject({ availability: "busy", note: "On a call", iconUrl: icon });
  });

  it("invisible publishes closed/offline without the note; auto-away marks user-input idle", () => {
    const inv = parsePidf(composeMyPidf("sip:alice@example.test", { status: "invisible", note: "secret" }, device));
    expect(inv.tuples[0]).toMatchObject({ basic: "closed", extendedStatus: "offline" });
    expect(summarizePresence(inv)).toMatchObject({ availability: "offline", notes: [] });
    const idle = parsePidf(composeMyPidf("sip:alice@example.test", { status: "away", idle: true }, device));
    expect(summarizePresence(idle).devices[0]).toMatchObject({ availability: "away", idle: true });
  });
});

describe("idle time and timed status in the PIDF", () => {
  it("auto-away publishes user-input last-input and watchers read it as idleSince (RFC 4480 user-input)", async () => {
    const xml = composeMyPidf("sip:alice@example.test", { status: "away", idle: true, lastInput: "2025-01-01T09:48:00.000Z" }, device);
    await expectValidXml(xml);
    expect(xml).toContain('last-input="2025-01-01T09:48:00.000Z"');
    const s = summarizePresence(parsePidf(xml));
    expect(s.devices[0]).toMatchObject({ idle: true, lastInput: "2025-01-01T09:48:00.000Z" });
    expect(s.idleSince).toBe("2025-01-01T09:48:00.000Z");
    // not idle: no idle time, even if an old last-input were around
    expect(summarizePresence(parsePidf(composeMyPidf("sip:alice@example.test", { status: "away", lastInput: "2025-01-01T09:48:00.000Z" }, device))).idleSince).toBeUndefined();
  });

  it("a status with clear-after publishes the activities' until (RFC 4480 §3.2) and watchers read it", async () => {
    const xml = composeMyPidf("sip:alice@example.test", { status: "busy", note: "Focus", until: "2025-01-01T11:00:00.000Z" }, device);
    await expectValidXml(xml);
    expect(xml).toMatch(/<rpid:activities until="2025-01-01T11:00:00.000Z">/);
    expect(summarizePresence(parsePidf(xml))).toMatchObject({ availability: "busy", until: "2025-01-01T11:00:00.000Z" });
    // invisible says nothing about when it ends
    expect(composeMyPidf("sip:alice@example.test", { status: "invisible", until: "2025-01-01T11:00:00.000Z" }, device)).not.toContain("until=");
  });
});

describe("client helpers", () => {
  it("derives the RLS service URI like python-sipsimple", () => {
    expect(presenceListUri("sip:alice@example.test")).toBe("sip:alice+presence@example.test");
    expect(() => presenceListUri("alice")).toThrow();
  });

  it("keeps one instance id per tab in sessionStorage", () => {
    const m = new Map<string, string>();
    const storage = { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
    const id = tabInstanceId(storage);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(m.get(INSTANCE_ID_STORAGE_KEY)).toBe(id);
    expect(tabInstanceId(storage)).toBe(id);
    expect(tabInstanceId(null)).not.toBe(id);
  });

  it("reads the expiry of autheph-style user names", () => {
    expect(credentialsExpiry("1767225600:alice")).toBe(1767225600);
    expect(credentialsExpiry("alice")).toBeUndefined();
  });
});
