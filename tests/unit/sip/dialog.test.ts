import { describe, expect, it, vi } from "vitest";
import { clientTransactionKey } from "../../../lib/sip/client-transaction";
import { CSeq } from "../../../lib/sip/cseq";
import { Via } from "../../../lib/sip/via";
import { Dialog, type DialogState } from "../../../lib/sip/dialog";
import { parseMessage } from "../../../lib/sip/parser";
import { serializeMessage } from "../../../lib/sip/serializer";
import { createResponse } from "../../../lib/sip/ua-helpers";
import type { SipRequest, SipResponse } from "../../../lib/sip/message";

const subscribe = parseMessage(
  [
    "SUBSCRIBE sip:alice@example.test SIP/2.0",
    "Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKproxy",
    "Via: SIP/2.0/TCP 127.0.0.1:39650;branch=z9hG4bKbob;rport=39650;received=127.0.0.1",
    "Record-Route: <sip:p2.example.test;lr>",
    "Record-Route: <sip:p1.example.test;lr;transport=tcp>",
    'From: "Bob" <sip:bob@example.test>;tag=bobtag',
    "To: <sip:alice@example.test>",
    "Call-ID: sub-1@127.0.0.1",
    "CSeq: 20 SUBSCRIBE",
    "Contact: <sip:bob@127.0.0.1:39650;transport=tcp>",
    "Event: presence",
    "Expires: 600",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n"),
) as SipRequest;

/** A SUBSCRIBE to alice over TCP with this From, Call-ID and To. */
function subscribeFrom(from: string, callId: string, to = "<sip:alice@example.test>"): SipRequest {
  return parseMessage(
    [
      "SUBSCRIBE sip:alice@example.test SIP/2.0",
      "Via: SIP/2.0/TCP 127.0.0.1:39650;branch=z9hG4bKodd",
      `From: ${from}`,
      `To: ${to}`,
      `Call-ID: ${callId}`,
      "CSeq: 1 SUBSCRIBE",
      "Contact: <sip:bob@127.0.0.1:39650;transport=tcp>",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n"),
  ) as SipRequest;
}

describe("Dialog (RFC 3261 §12, RFC 6665)", () => {
  it("UAS dialog from SUBSCRIBE builds NOTIFYs with route set, remote target, increasing CSeq", () => {
    const d = Dialog.createUas(subscribe, "alicetag");
    expect(d.id).toEqual({ callId: "sub-1@127.0.0.1", localTag: "alicetag", remoteTag: "bobtag" });
    expect(d.routeSet).toEqual(["<sip:p2.example.test;lr>", "<sip:p1.example.test;lr;transport=tcp>"]);
    expect(d.remoteTarget).toBe("sip:bob@127.0.0.1:39650;transport=tcp");
    const n1 = d.createRequest("NOTIFY", {
      via: { transport: "TCP", host: "127.0.0.1", port: 5060 },
      contact: "<sip:127.0.0.1:5060;transport=tcp>",
      headers: [["Event", "presence"], ["Subscription-State", "active;expires=600"]],
      body: "<presence/>",
      contentType: "application/pidf+xml",
    });
    const wire = parseMessage(serializeMessage(n1)) as SipRequest;
    expect(wire.method).toBe("NOTIFY");
    expect(wire.uri.toString()).toBe("sip:bob@127.0.0.1:39650;transport=tcp");
    expect(wire.route.map(String)).toEqual(["<sip:p2.example.test;lr>", "<sip:p1.example.test;lr;transport=tcp>"]);
    expect(wire.from.tag).toBe("alicetag");
    expect(wire.from.uri.toString()).toBe("sip:alice@example.test");
    expect(wire.to.tag).toBe("bobtag");
    expect(wire.to.displayName).toBe("Bob");
    expect(wire.cseq.toString()).toBe("1 NOTIFY");
    expect(wire.callId).toBe("sub-1@127.0.0.1");
    expect(d.createRequest("NOTIFY", { via: { transport: "TCP", host: "h" } }).cseq.seq).toBe(2);
  });

  it("writes From/To exactly as NameAddr would (display names needing quotes, URI parameters, escapes)", () => {
    const odd = subscribeFrom('"B \\"the\\" Ob" <sip:b%20ob@Example.test;user=ip?subject=x>;tag=t1', "odd-1", "Alice <sips:alice@example.test:5061;transport=tls>");
    for (const d of [Dialog.createUas(odd, "lt"), Dialog.fromJSON(Dialog.createUas(odd, "lt").toJSON())]) {
      const n = d.createRequest("NOTIFY", { via: { transport: "TCP", host: "127.0.0.1" } });
      const expectFrom = odd.to.clone();
      expectFrom.tag = "lt";
      expect(n.getHeader("From")).toBe(expectFrom.toString());
      expect(n.getHeader("To")).toBe(odd.from.toString());
      const wire = parseMessage(serializeMessage(n)) as SipRequest;
      expect(wire.to.displayName).toBe(odd.from.displayName);
      expect(wire.to.uri.toString()).toBe(odd.from.uri.toString());
    }
  });

  it("in-dialog refresh: CSeq must not go backwards; Contact refreshes the remote target", () => {
    const d = Dialog.createUas(subscribe, "alicetag");
    const refresh = parseMessage(
      serializeMessage(subscribe)
        .toString()
        .replace("To: <sip:alice@example.test>", "To: <sip:alice@example.test>;tag=alicetag")
        .replace("CSeq: 20", "CSeq: 21")
        .replace("127.0.0.1:39650;transport=tcp>", "127.0.0.1:40000;transport=tcp>"),
    ) as SipRequest;
    expect(d.receiveRequest(refresh)).toBe(true);
    expect(d.remoteTarget).toBe("sip:bob@127.0.0.1:40000;transport=tcp");
    const old = parseMessage(serializeMessage(refresh).toString().replace("CSeq: 21", "CSeq: 19")) as SipRequest;
    expect(d.receiveRequest(old)).toBe(false);
    expect(d.remoteCSeq).toBe(21);
  });

  it("JSON round trip restores an equivalent dialog (persist across restart)", () => {
    const d = Dialog.createUas(subscribe, "alicetag");
    d.createRequest("NOTIFY", { via: { transport: "TCP", host: "h" } });
    const json: DialogState = JSON.parse(JSON.stringify(d));
    const restored = Dialog.fromJSON(json);
    expect(restored.toJSON()).toEqual(d.toJSON());
    const a = restored.createRequest("NOTIFY", { via: { transport: "TCP", host: "h", branch: "z9hG4bKx" } });
    const b = d.createRequest("NOTIFY", { via: { transport: "TCP", host: "h", branch: "z9hG4bKx" } });
    expect(serializeMessage(a).equals(serializeMessage(b))).toBe(true);
    expect(a.cseq.seq).toBe(2);
  });

  it("UAC dialog from the 2xx reverses Record-Route; strict first route puts the target last", () => {
    const ok = createResponse(subscribe, 200, { toTag: "alicetag", headers: [["Contact", "<sip:alice@192.0.2.9:5060;transport=tcp>"]] });
    for (const rr of subscribe.getHeaders("Record-Route")) ok.addHeader("Record-Route", rr);
    const uac = Dialog.createUac(subscribe, parseMessage(serializeMessage(ok)) as SipResponse);
    expect(uac.id).toEqual({ callId: "sub-1@127.0.0.1", localTag: "bobtag", remoteTag: "alicetag" });
    expect(uac.routeSet).toEqual(["<sip:p1.example.test;lr;transport=tcp>", "<sip:p2.example.test;lr>"]);
    expect(uac.localCSeq).toBe(20);
    const sub = uac.createRequest("SUBSCRIBE", { via: { transport: "TCP", host: "h" } });
    expect(sub.cseq.seq).toBe(21);
    expect(sub.uri.toString()).toBe("sip:alice@192.0.2.9:5060;transport=tcp");

    const strict = Dialog.fromJSON({ ...uac.toJSON(), routeSet: ["<sip:strict.example.test>", "<sip:p2.example.test;lr>"] });
    const req = strict.createRequest("SUBSCRIBE", { via: { transport: "TCP", host: "h" } });
    expect(req.uri.toString()).toBe("sip:strict.example.test");
    expect(req.getHeaders("Route")).toEqual(["<sip:p2.example.test;lr>", "<sip:alice@192.0.2.9:5060;transport=tcp>"]);
  });

  it("keeps its id as one string (the subscription's map key) and reads Call-ID and tags back exactly, ';' in a Call-ID or a quoted tag included", () => {
    const odd = subscribeFrom('<sip:bob@example.test>;tag="a;b"', "x;y@host");
    const d = Dialog.createUas(odd, "lt;1");
    const id = { callId: "x;y@host", localTag: "lt;1", remoteTag: '"a;b"' };
    expect(d.id).toEqual(id);
    expect(d.idString).toBe('x;y@host;lt;1;"a;b"');
    const back = Dialog.fromJSON(d.toJSON());
    expect(back.id).toEqual(id);
    expect(back.toJSON()).toEqual(d.toJSON());
    const n = d.createRequest("NOTIFY", { via: { transport: "TCP", host: "127.0.0.1" } });
    expect(n.callId).toBe("x;y@host");
    expect(n.getHeader("From")).toBe("<sip:alice@example.test>;tag=lt;1");
    expect(n.getHeader("To")).toBe('<sip:bob@example.test>;tag="a;b"');
  });

  it("an in-dialog request keeps the Via and CSeq it was built with as their parsed views (the client transaction key reads them without parsing)", () => {
    const d = Dialog.createUas(subscribe, "alicetag");
    const viaParse = vi.spyOn(Via, "parse");
    const cseqParse = vi.spyOn(CSeq, "parse");
    try {
      const n = d.createRequest("NOTIFY", { via: { transport: "TCP", host: "127.0.0.1", port: 5060 } });
      const key = clientTransactionKey(n);
      expect(viaParse).not.toHaveBeenCalled();
      expect(cseqParse).not.toHaveBeenCalled();
      viaParse.mockRestore();
      cseqParse.mockRestore();
      const wire = parseMessage(serializeMessage(n)) as SipRequest;
      expect(clientTransactionKey(wire)).toBe(key);
      expect(wire.topVia?.toString()).toBe(n.topVia?.toString());
      expect(wire.cseq).toEqual(n.cseq);
    } finally {
      viaParse.mockRestore();
      cseqParse.mockRestore();
    }
  });
});
