import { describe, expect, it } from "vitest";
import { parseMessage } from "../../../lib/sip/parser";
import { serializeMessage } from "../../../lib/sip/serializer";
import { SipRequest, SipResponse, type SipMessageAny } from "../../../lib/sip/message";
import { SipParseError } from "../../../lib/sip/parse-error";
import { loadKamailioFixtures, loadSippFixtures, loadTranscriptFixtures, type FixtureMessage } from "./fixture-loader";

function summary(m: SipMessageAny) {
  return {
    start: m.startLine(),
    headers: m.headers.map((h) => [h.name.toLowerCase(), h.value]).filter(([n]) => n !== "content-length"),
    body: m.body.toString("base64"),
    via: m.via.map(String),
    from: m.from.toString(),
    to: m.to.toString(),
    callId: m.callId,
    cseq: m.cseq.toString(),
  };
}

function roundTrip(f: FixtureMessage) {
  const first = parseMessage(f.wire);
  first.validate();
  const wire = serializeMessage(first);
  const second = parseMessage(wire, { stream: true });
  expect(summary(second)).toEqual(summary(first));
  // a second serialisation is byte-identical (canonical form is a fixed point)
  expect(serializeMessage(second).equals(wire)).toBe(true);
  return first;
}

const kamailio = loadKamailioFixtures();
const sip = kamailio.filter((f) => !f.isHttp);

describe("Kamailio 5.6 fixtures", () => {
  it("found the capture files", () => {
    expect(sip.length).toBeGreaterThanOrEqual(35);
  });

  it.each(sip.map((f) => [`${f.file}#${f.index} ${f.startLine}`, f] as const))("%s parses and round-trips", (_n, f) => {
    const m = roundTrip(f);
    expect(m.callId).not.toBe("");
    if (f.exact) expect(m.body.length).toBe(m.contentLength);
  });

  it("bodies were rebuilt byte-exact except the one mixed-line-ending RLMI multipart", () => {
    expect(sip.filter((f) => !f.exact).map((f) => f.file)).toEqual(["rls-notify-with-bob.txt"]);
  });

  it("HTTP (XCAP) messages interleaved in the captures are rejected as not SIP", () => {
    const http = kamailio.filter((f) => f.isHttp);
    expect(http.length).toBeGreaterThan(0);
    for (const f of http) expect(() => parseMessage(f.wire)).toThrow(SipParseError);
  });

  it("extracts routing-critical fields from a Kamailio NOTIFY", () => {
    const f = sip.find((x) => x.file === "winfo-notify-active.txt" && x.startLine.startsWith("NOTIFY"))!;
    const m = parseMessage(f.wire) as SipRequest;
    expect(m).toBeInstanceOf(SipRequest);
    expect(m.method).toBe("NOTIFY");
    expect(m.topVia!.transport).toBe("TCP");
    expect(m.topVia!.host).toBe("127.0.0.1");
    expect(m.topVia!.port).toBe(5070);
    expect(m.topVia!.branch).toMatch(/^z9hG4bK/);
    expect(m.from.tag).toBeDefined();
    expect(m.to.tag).toBeDefined();
    expect(m.cseq.method).toBe("NOTIFY");
    expect(m.event!.value).toBe("presence.winfo");
    expect(m.subscriptionState!.value).toBe("active");
    expect(m.contentType!.value).toBe("application/watcherinfo+xml");
    expect(m.bodyText).toContain("<watcherinfo");
  });

  it("parses a 200 to PUBLISH with SIP-ETag and Expires", () => {
    const f = sip.find((x) => x.file === "publish.txt" && x.startLine.startsWith("SIP/2.0 200"))!;
    const m = parseMessage(f.wire) as SipResponse;
    expect(m.status).toBe(200);
    expect(m.expires).toBe(600);
    expect(m.getHeader("sip-etag")).toBe("a.1795312901.13305.1.0");
    expect(m.topVia!.received).toBe("127.0.0.1");
    expect(m.topVia!.rport).toBe(39636);
  });
});

describe("full transcript and client traces", () => {
  const transcript = loadTranscriptFixtures();
  const sipp = loadSippFixtures();
  it("every SIP message of the annotated Kamailio transcript round-trips", () => {
    expect(transcript.length).toBeGreaterThan(100);
    for (const f of transcript) roundTrip(f);
  });
  it("every SIPp-traced message round-trips (byte counts from the trace)", () => {
    expect(sipp.length).toBeGreaterThan(20);
    for (const f of sipp) {
      const m = roundTrip(f);
      expect(m.body.length).toBe(m.contentLength);
    }
  });
});
