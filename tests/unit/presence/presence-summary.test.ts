import { describe, expect, it } from "vitest";
import { composePidf } from "../../../lib/presence/pidf-composer";
import { parsePidf } from "../../../lib/presence/pidf-parser";
import { summarizePresence, availabilityFromActivities } from "../../../lib/presence/presence-summary";
import { bodiesOfType } from "./fixtures";

const P = (inner: string, ns = "") =>
  `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:agp-pidf="urn:ag-projects:xml:ns:pidf" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" ${ns} entity="sip:a@example.test">${inner}</presence>`;
const tuple = (id: string, basic: string, extra = "", ts = "") =>
  `<tuple id="${id}"><status><basic>${basic}</basic>${extra}</status>${ts ? `<timestamp>${ts}</timestamp>` : ""}</tuple>`;

describe("summarizePresence", () => {
  it("uses the extended status of a Blink tuple over a registrar's open tuple", () => {
    const doc = parsePidf(P(tuple("blink", "open", "<agp-pidf:extended>away</agp-pidf:extended>") + tuple("usrloc", "open")));
    expect(summarizePresence(doc).availability).toBe("away");
  });

  it("takes the newest status the user chose among extended tuples, not the most available device", () => {
    const doc = parsePidf(
      P(
        tuple("a", "open", "<agp-pidf:extended>busy</agp-pidf:extended>", "2026-01-01T10:00:00Z") +
          tuple("b", "open", "<agp-pidf:extended>available</agp-pidf:extended>", "2026-01-01T09:00:00Z"),
      ),
    );
    expect(summarizePresence(doc).availability).toBe("busy");
  });

  it("does not count an idle device's auto-away as a choice: the most available device then wins", () => {
    const idle = `<tuple id="a"><status><basic>open</basic><agp-pidf:extended>away</agp-pidf:extended></status><rpid:user-input>idle</rpid:user-input><timestamp>2026-01-01T10:00:00Z</timestamp></tuple>`;
    const doc = parsePidf(
      P(
        idle +
          tuple("b", "open", "<agp-pidf:extended>available</agp-pidf:extended>", "2026-01-01T09:00:00Z"),
      ),
    );
    expect(summarizePresence(doc).availability).toBe("available");
  });

  it("maps RPID activities when no extended status is present", () => {
    const withActivity = (a: string) =>
      summarizePresence(parsePidf(P(tuple("t", "open") + `<dm:person id="p"><rpid:activities><rpid:${a}/></rpid:activities></dm:person>`))).availability;
    expect(withActivity("on-the-phone")).toBe("busy");
    expect(withActivity("meeting")).toBe("busy");
    expect(withActivity("away")).toBe("away");
    expect(withActivity("vacation")).toBe("extended-away");
    expect(withActivity("working")).toBe("available");
    expect(withActivity("unknown")).toBe("available");
    expect(availabilityFromActivities(["away", "on-the-phone"])).toBe("busy");
  });

  it("basic open is available, closed or no tuple is offline, idle is away", () => {
    expect(summarizePresence(parsePidf(P(tuple("t", "open")))).availability).toBe("available");
    expect(summarizePresence(parsePidf(P(tuple("t", "closed")))).availability).toBe("offline");
    expect(summarizePresence(parsePidf(P(""))).availability).toBe("offline");
    expect(summarizePresence(parsePidf(P(`<tuple id="t"><status><basic>open</basic></status><rpid:user-input>idle</rpid:user-input></tuple>`))).availability).toBe("away");
    // a closed tuple with extended status stays offline
    expect(summarizePresence(parsePidf(P(tuple("t", "closed", "<agp-pidf:extended>available</agp-pidf:extended>")))).availability).toBe("offline");
  });

  it("collects de-duplicated notes with languages, icon, homepage and devices", () => {
    const xml = composePidf({
      entity: "sip:a@example.test",
      extended: "busy",
      notes: ["On a call", { text: "Am Telefon", lang: "de" }],
      iconUrl: "http://x/icon#blink-iconabc",
      homepage: "https://a.example.test",
      deviceId: "dev-1",
      userAgent: "Herald",
      deviceDescription: "browser",
      timeOffset: -300,
    });
    const s = summarizePresence(parsePidf(xml));
    expect(s).toMatchObject({
      availability: "busy",
      note: "On a call",
      notes: [{ text: "On a call" }, { text: "Am Telefon", lang: "de" }],
      iconUrl: "http://x/icon#blink-iconabc",
      homepage: "https://a.example.test",
      activities: ["busy"],
    });
    expect(s.devices).toEqual([
      expect.objectContaining({ availability: "busy", deviceId: "dev-1", userAgent: "Herald", description: "browser", timeOffset: -300, basic: "open", extendedStatus: "busy" }),
    ]);
  });

  it("summarizes Kamailio's NOTIFY bodies", () => {
    const [active] = bodiesOfType("presence-notify-active-pidf.txt", "application/pidf+xml");
    expect(summarizePresence(parsePidf(active.body))).toMatchObject({ availability: "available", notes: [{ text: "Alice note one" }] });
    const manip = bodiesOfType("pidf-manipulation.txt", "application/pidf+xml");
    const carol = manip.map((m) => summarizePresence(parsePidf(m.body)));
    expect(carol.some((s) => s.note === "Carol static via pidf-manipulation")).toBe(true);
  });

  it("shows the note of an offline document", () => {
    const s = summarizePresence(parsePidf(P(`<tuple id="t"><status><basic>closed</basic></status><note>On holiday</note></tuple>`)));
    expect(s).toMatchObject({ availability: "offline", note: "On holiday" });
  });
});
