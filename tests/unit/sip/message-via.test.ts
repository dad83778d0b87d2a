/** setHeader("Via", Via objects) keeps the typed view coherent with the raw header (§18.2.1 received/rport). */
import { describe, expect, it } from "vitest";
import { Via, parseMessage, serializeMessage } from "@/lib/sip";

const RAW = "SUBSCRIBE sip:alice@example.test SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1:5070;branch=z9hG4bK-1;rport\r\nVia: SIP/2.0/TCP 10.0.0.9;branch=z9hG4bK-2\r\nFrom: <sip:bob@example.test>;tag=1\r\nTo: <sip:alice@example.test>\r\nCall-ID: c1\r\nCSeq: 1 SUBSCRIBE\r\nContent-Length: 0\r\n\r\n";

describe("Via written back as objects", () => {
  it("serves the typed view without re-parsing and matches a parse of the wire form", () => {
    const m = parseMessage(RAW);
    const top = m.via[0].clone();
    top.rport = 40000;
    top.received = "192.0.2.7";
    m.setHeader("Via", [top]);
    expect(m.via[0]).toBe(top);
    expect(m.via).toHaveLength(1);
    const again = parseMessage(serializeMessage(m));
    expect(again.via.map(String)).toEqual(m.via.map(String));
    expect(again.via[0].received).toBe("192.0.2.7");
    // mixed objects and strings: parsed from the raw values
    m.setHeader("Via", [top, "SIP/2.0/TCP 10.0.0.9;branch=z9hG4bK-2"]);
    expect(m.via).toHaveLength(2);
    expect(m.via[1]).toBeInstanceOf(Via);
    expect(m.via[1].branch).toBe("z9hG4bK-2");
  });
});
