/** Reason phrases are made wire-safe in one place, `SipResponse` (RFC 3261 §25.1 Reason-Phrase). */
import { describe, expect, it } from "vitest";
import { MAX_REASON_PHRASE_LENGTH, SipRequest, SipResponse, createResponse, parseMessage, sanitizeReasonPhrase, serializeMessage } from "@/lib/sip";

const request = () =>
  new SipRequest({
    method: "PUBLISH",
    uri: "sip:alice@example.test",
    headers: [
      ["Via", "SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKabc"],
      ["From", "<sip:alice@example.test>;tag=1"],
      ["To", "<sip:alice@example.test>"],
      ["Call-ID", "c1"],
      ["CSeq", "1 PUBLISH"],
    ],
  });

describe("reason phrases", () => {
  it("keeps a clean phrase as it is, empty included", () => {
    expect(sanitizeReasonPhrase(400, "Bad PIDF: unclosed <tuple>")).toBe("Bad PIDF: unclosed <tuple>");
    expect(sanitizeReasonPhrase(200, "")).toBe("");
    expect(sanitizeReasonPhrase(200, "tab\tinside")).toBe("tab\tinside");
  });

  it("turns CR, LF and other control characters into spaces, bounds the length, falls back to the default", () => {
    expect(sanitizeReasonPhrase(400, "Bad PIDF: unexpected </\ntuple>\r\nInjected: yes")).toBe("Bad PIDF: unexpected </ tuple> Injected: yes");
    expect(sanitizeReasonPhrase(400, "a\u0000b\u007fc\u001bd")).toBe("a b c d");
    expect(sanitizeReasonPhrase(400, "\r\n\r\n")).toBe("Bad Request");
    expect(sanitizeReasonPhrase(513, "x".repeat(5000))).toHaveLength(MAX_REASON_PHRASE_LENGTH);
    // a surrogate pair is never split by the cut
    const cut = sanitizeReasonPhrase(400, "x".repeat(MAX_REASON_PHRASE_LENGTH - 1) + "😀😀");
    expect(cut).toBe("x".repeat(MAX_REASON_PHRASE_LENGTH - 1));
  });

  it("applies to every way a response gets its phrase: constructor, createResponse, assignment", () => {
    const bad = "line one\r\nVia: SIP/2.0/TCP evil;branch=z9hG4bKx\r\n\r\n";
    const a = new SipResponse({ status: 400, reason: bad });
    const b = createResponse(request(), 400, { reason: bad });
    const c = createResponse(request(), 400);
    c.reason = bad;
    for (const r of [a, b, c]) {
      expect(r.reason).toBe("line one Via: SIP/2.0/TCP evil;branch=z9hG4bKx");
      expect(r.startLine()).toBe("SIP/2.0 400 line one Via: SIP/2.0/TCP evil;branch=z9hG4bKx");
    }
    const wire = serializeMessage(b).toString("utf8");
    const back = parseMessage(wire, { stream: true }) as SipResponse;
    expect(back.status).toBe(400);
    expect(back.via).toHaveLength(1);
    expect(back.reason).toBe(b.reason);
  });
});
