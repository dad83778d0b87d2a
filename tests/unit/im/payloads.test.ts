import { readdirSync, readFileSync } from "node:fs";
import { NS } from "../../../lib/presence/namespaces";
import { describe, expect, it } from "vitest";
import {
  composeImdn,
  composeIsComposing,
  cpimContentType,
  cpimHeader,
  createCpim,
  imdnCpim,
  imdnRequestOf,
  parseCpim,
  parseCpimAddress,
  parseImdn,
  parseIsComposing,
  serializeCpim,
} from "@/lib/im";

// RFC 5438 §7.1 example (a message asking for delivery and display notifications)
const RFC5438_MESSAGE = [
  "From: Alice <im:alice@example.com>",
  "To: Bob <im:bob@example.com>",
  "NS: imdn <urn:ietf:params:imdn>",
  "imdn.Message-ID: 34jk324j",
  "DateTime: 2006-04-04T12:16:49-05:00",
  "imdn.Disposition-Notification: positive-delivery, display",
  "",
  "Content-type: text/plain",
  "Content-length: 12",
  "",
  "Hello World",
  "",
].join("\r\n");

const RFC5438_NOTIFICATION = `<?xml version="1.0" encoding="UTF-8"?>
<imdn xmlns="urn:ietf:params:xml:ns:imdn">
  <message-id>34jk324j</message-id>
  <datetime>2008-04-04T12:16:49-05:00</datetime>
  <recipient-uri>im:bob@example.com</recipient-uri>
  <original-recipient-uri>im:bob@example.com</original-recipient-uri>
  <delivery-notification>
    <status>
      <delivered/>
    </status>
  </delivery-notification>
</imdn>`;

describe("message/cpim (RFC 3862)", () => {
  it("parses the RFC 5438 example: headers, namespaced imdn headers, entity", () => {
    const m = parseCpim(RFC5438_MESSAGE);
    expect(cpimHeader(m, "From")).toBe("Alice <im:alice@example.com>");
    expect(parseCpimAddress(cpimHeader(m, "From") as string)).toEqual({ uri: "im:alice@example.com", displayName: "Alice" });
    expect(cpimHeader(m, "Message-ID", NS.imdnHeaders)).toBe("34jk324j");
    expect(cpimHeader(m, "Message-ID")).toBeUndefined(); // not a core header
    expect(cpimContentType(m)).toBe("text/plain");
    expect(m.body).toBe("Hello World\r\n");
    expect(imdnRequestOf(m)).toEqual({ messageId: "34jk324j", dispositions: ["positive-delivery", "display"] });
  });

  it("round-trips parse → serialize → parse; LF-only input is accepted", () => {
    const m = parseCpim(RFC5438_MESSAGE);
    expect(parseCpim(serializeCpim(m))).toEqual(m);
    expect(parseCpim(RFC5438_MESSAGE.replace(/\r\n/g, "\n")).headers).toEqual(m.headers);
  });

  it("keeps ;lang parameters and finds a namespace under any prefix", () => {
    const m = parseCpim("Subject:;lang=fr Bonjour\r\nNS: x <urn:ietf:params:imdn>\r\nx.Message-ID: 9\r\n\r\nContent-Type: text/plain\r\n\r\nhi");
    expect(m.headers[0]).toEqual({ name: "Subject", params: ";lang=fr", value: "Bonjour" });
    expect(cpimHeader(m, "Message-ID", NS.imdnHeaders)).toBe("9");
  });

  it("refuses malformed input with a stable code", () => {
    expect(() => parseCpim("From: <sip:a@b>\r\nTo: <sip:c@d>")).toThrow(expect.objectContaining({ code: "malformed-cpim", status: 400 }));
    expect(() => parseCpim("From <sip:a@b>\r\n\r\nContent-Type: text/plain\r\n\r\nx")).toThrow(expect.objectContaining({ code: "malformed-cpim" }));
    expect(() => parseCpim("From: <sip:a@b>\r\n\r\nX-Other: 1\r\n\r\nx")).toThrow(expect.objectContaining({ code: "malformed-cpim" }));
    expect(() => parseCpim(`${"X: 1\r\n".repeat(200)}\r\nContent-Type: text/plain\r\n\r\n`)).toThrow(expect.objectContaining({ code: "malformed-cpim" }));
    expect(() => cpimContentType(parseCpim("From: <sip:a@b>\r\n\r\nContent-Type: nonsense\r\n\r\nx"))).toThrow(expect.objectContaining({ status: 415 }));
    expect(parseCpimAddress("no brackets")).toBeUndefined();
  });

  it("refuses to write a header value that would inject a header", () => {
    const m = createCpim({ from: { uri: "sip:a@b" }, to: { uri: "sip:c@d" }, contentType: "text/plain", body: "x", extraHeaders: [{ name: "Subject", value: "a\r\nTo: <sip:x@y>" }] });
    expect(() => serializeCpim(m)).toThrow(expect.objectContaining({ code: "invalid-value" }));
  });
});

describe("is-composing (RFC 3994)", () => {
  it("composes and parses; unknown state is idle; refresh validated", () => {
    const x = composeIsComposing({ state: "active", contentType: "text/plain", refresh: 60, lastActive: "2026-01-01T00:00:00Z" });
    expect(parseIsComposing(x)).toEqual({ state: "active", contentType: "text/plain", refresh: 60, lastActive: "2026-01-01T00:00:00Z" });
    expect(parseIsComposing(`<isComposing xmlns="${NS.isComposing}"><state>thinking</state></isComposing>`).state).toBe("idle");
    expect(() => parseIsComposing(`<isComposing xmlns="${NS.isComposing}"><state>active</state><refresh>0</refresh></isComposing>`)).toThrow(expect.objectContaining({ code: "invalid-value" }));
    expect(() => parseIsComposing(`<isComposing xmlns="urn:x"><state>active</state></isComposing>`)).toThrow(expect.objectContaining({ code: "wrong-root" }));
    expect(() => parseIsComposing(`<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><isComposing/>`)).toThrow(expect.objectContaining({ code: "not-xml" }));
  });
});

describe("IMDN (RFC 5438)", () => {
  it("parses the RFC example and round-trips", () => {
    const n = parseImdn(RFC5438_NOTIFICATION);
    expect(n).toEqual({ messageId: "34jk324j", dateTime: "2008-04-04T12:16:49-05:00", recipientUri: "im:bob@example.com", originalRecipientUri: "im:bob@example.com", kind: "delivery", status: "delivered" });
    expect(parseImdn(composeImdn(n))).toEqual(n);
  });

  it("refuses a notification with two kinds or a status of another kind", () => {
    const two = RFC5438_NOTIFICATION.replace("</imdn>", "<display-notification><status><displayed/></status></display-notification></imdn>");
    expect(() => parseImdn(two)).toThrow(expect.objectContaining({ code: "invalid-value" }));
    expect(() => parseImdn(RFC5438_NOTIFICATION.replace("<delivered/>", "<displayed/>"))).toThrow(expect.objectContaining({ code: "invalid-value" }));
    expect(() => composeImdn({ messageId: "a", dateTime: "x", kind: "display", status: "delivered" })).toThrow(RangeError);
  });

  it("wraps a notification in CPIM with Content-Disposition: notification (§7.2.1.1)", () => {
    const c = imdnCpim({ from: "sip:bob@example.test", to: "sip:alice@example.test", notificationId: "n1", notification: { messageId: "34jk324j", dateTime: "2026-01-01T00:00:00Z", kind: "display", status: "displayed" } });
    const back = parseCpim(serializeCpim(c));
    expect(cpimContentType(back)).toBe("message/imdn+xml");
    expect(back.contentHeaders).toContainEqual({ name: "Content-Disposition", value: "notification" });
    expect(cpimHeader(back, "Message-ID", NS.imdnHeaders)).toBe("n1");
    expect(parseImdn(back.body)).toMatchObject({ messageId: "34jk324j", kind: "display", status: "displayed" });
  });
});

describe("lib/im stays browser-safe", () => {
  it("imports only lib/xml, lib/presence (and its identifiers), lib/sip/aor and itself; no Buffer, process.env, console", () => {
    const dir = new URL("../../../lib/im/", import.meta.url);
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts"))) {
      const src = readFileSync(new URL(f, dir), "utf8");
      for (const m of src.matchAll(/from\s+"([^"]+)"/g)) expect([f, m[1]]).toEqual([f, expect.stringMatching(/^(\.\/[a-z0-9-]+|\.\.\/xml|\.\.\/presence|\.\.\/presence\/namespaces|\.\.\/sip\/aor)$/)]);
      expect([f, /\bBuffer\b|process\.env|console\./.test(src)]).toEqual([f, false]);
    }
  });
});
