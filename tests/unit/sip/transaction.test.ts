import { describe, expect, it } from "vitest";
import { NonInviteClientState, NonInviteClientTransaction } from "../../../lib/sip/client-transaction";
import { NonInviteServerState, NonInviteServerTransaction } from "../../../lib/sip/server-transaction";
import { TransactionLayer } from "../../../lib/sip/transaction-layer";
import { T1, T2, T4, TIMER_F, timerJ, timerK } from "../../../lib/sip/timers";
import { createRequest, createResponse, generateBranch } from "../../../lib/sip/ua-helpers";
import type { SipRequest, SipResponse } from "../../../lib/sip/message";
import { parseMessage } from "../../../lib/sip/parser";
import { serializeMessage } from "../../../lib/sip/serializer";
import { FakeTimers } from "./fake-timers";

function publish(transport = "UDP"): SipRequest {
  return createRequest({
    method: "PUBLISH",
    uri: "sip:alice@example.test",
    from: "<sip:alice@example.test>",
    to: "<sip:alice@example.test>",
    via: { transport, host: "192.0.2.1", port: 5060 },
    headers: [["Event", "presence"], ["Expires", 600]],
    body: "<presence/>",
    contentType: "application/pidf+xml",
  });
}

describe("timer constants", () => {
  it("follow RFC 3261 Table 4 and the reliable-transport rules", () => {
    expect([T1, T2, T4, TIMER_F]).toEqual([500, 4000, 5000, 32000]);
    expect(timerK(false)).toBe(5000);
    expect(timerK(true)).toBe(0);
    expect(timerJ(false)).toBe(32000);
    expect(timerJ(true)).toBe(0);
  });
});

describe("NonInviteClientTransaction (§17.1.2)", () => {
  it("unreliable: Timer E retransmits at 500,1000,2000,4000,4000... then Timer F times out at 32 s", () => {
    const timers = new FakeTimers();
    const sent: number[] = [];
    const tx = new NonInviteClientTransaction({ request: publish(), send: () => sent.push(timers.now()), reliable: false, timers });
    const events: string[] = [];
    tx.on("timeout", () => events.push("timeout"));
    tx.on("terminated", () => events.push("terminated"));
    tx.start();
    timers.advance(TIMER_F);
    expect(sent.slice(0, 7)).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500]);
    expect(sent.every((t) => t < TIMER_F)).toBe(true);
    expect(events).toEqual(["timeout", "terminated"]);
    expect(tx.state).toBe(NonInviteClientState.Terminated);
    expect(timers.pending).toBe(0);
  });

  it("provisional moves to Proceeding, where retransmissions are every T2", () => {
    const timers = new FakeTimers();
    const sent: number[] = [];
    const req = publish();
    const tx = new NonInviteClientTransaction({ request: req, send: () => sent.push(timers.now()), reliable: false, timers });
    tx.start();
    timers.advance(600); // one retransmission at 500
    tx.receiveResponse(createResponse(req, 100));
    expect(tx.state).toBe(NonInviteClientState.Proceeding);
    sent.length = 0;
    timers.advance(10_000);
    // next Timer E was scheduled at 500+1000=1500 (armed in Trying), then T2 spacing
    expect(sent).toEqual([1500, 5500, 9500]);
  });

  it("final response → Completed, Timer K = T4 absorbs retransmitted responses, then Terminated", () => {
    const timers = new FakeTimers();
    const req = publish();
    const tx = new NonInviteClientTransaction({ request: req, send: () => {}, reliable: false, timers });
    const got: number[] = [];
    tx.on("response", (r) => got.push(r.status));
    tx.start();
    tx.receiveResponse(createResponse(req, 200, { toTag: "x" }));
    expect(tx.state).toBe(NonInviteClientState.Completed);
    tx.receiveResponse(createResponse(req, 200, { toTag: "x" })); // retransmission absorbed
    expect(got).toEqual([200]);
    timers.advance(T4 - 1);
    expect(tx.state).toBe(NonInviteClientState.Completed);
    timers.advance(1);
    expect(tx.state).toBe(NonInviteClientState.Terminated);
  });

  it("reliable: no retransmissions, Timer K = 0 (terminates on the final response)", () => {
    const timers = new FakeTimers();
    const req = publish("TCP");
    let sends = 0;
    const tx = new NonInviteClientTransaction({ request: req, send: () => sends++, reliable: true, timers });
    const states: string[] = [];
    tx.on("stateChanged", (s) => states.push(s));
    tx.start();
    timers.advance(20_000);
    expect(sends).toBe(1);
    tx.receiveResponse(createResponse(req, 407));
    expect(states).toEqual(["Completed", "Terminated"]);
    expect(timers.pending).toBe(0);
  });

  it("reliable: Timer F still fires at 64·T1", () => {
    const timers = new FakeTimers();
    const tx = new NonInviteClientTransaction({ request: publish("TCP"), send: () => {}, reliable: true, timers });
    let timedOut = false;
    tx.on("timeout", () => (timedOut = true));
    tx.start();
    timers.advance(TIMER_F - 1);
    expect(timedOut).toBe(false);
    timers.advance(1);
    expect(timedOut).toBe(true);
  });

  it("a transport error on send terminates and is reported", () => {
    const timers = new FakeTimers();
    const tx = new NonInviteClientTransaction({ request: publish(), send: () => { throw new Error("EPIPE"); }, reliable: false, timers });
    const errs: unknown[] = [];
    tx.on("transportError", (e) => errs.push(e));
    tx.start();
    expect(errs.length).toBe(1);
    expect(tx.state).toBe(NonInviteClientState.Terminated);
    expect(timers.pending).toBe(0);
  });
});

describe("NonInviteServerTransaction (§17.2.2)", () => {
  it("Trying absorbs retransmissions; Proceeding resends the provisional; Completed resends the final; Timer J", () => {
    const timers = new FakeTimers();
    const req = publish();
    const sent: number[] = [];
    const tx = new NonInviteServerTransaction({ request: req, send: (r) => sent.push(r.status), reliable: false, timers });
    tx.receiveRetransmission();
    expect(sent).toEqual([]);
    tx.respond(createResponse(req, 100));
    expect(tx.state).toBe(NonInviteServerState.Proceeding);
    tx.receiveRetransmission();
    expect(sent).toEqual([100, 100]);
    tx.respond(createResponse(req, 200, { toTag: "t" }));
    expect(tx.state).toBe(NonInviteServerState.Completed);
    tx.receiveRetransmission();
    expect(sent).toEqual([100, 100, 200, 200]);
    expect(() => tx.respond(createResponse(req, 500))).toThrow();
    timers.advance(64 * T1 - 1);
    expect(tx.state).toBe(NonInviteServerState.Completed);
    timers.advance(1);
    expect(tx.state).toBe(NonInviteServerState.Terminated);
  });

  it("reliable: Timer J = 0, terminates right after the final response", () => {
    const timers = new FakeTimers();
    const req = publish("TCP");
    const tx = new NonInviteServerTransaction({ request: req, send: () => {}, reliable: true, timers });
    tx.respond(createResponse(req, 200, { toTag: "t" }));
    expect(tx.state).toBe(NonInviteServerState.Terminated);
    expect(timers.pending).toBe(0);
  });

  it("transport failure while responding → Terminated + transportError", () => {
    const timers = new FakeTimers();
    const req = publish();
    const tx = new NonInviteServerTransaction({ request: req, send: () => { throw new Error("closed"); }, reliable: false, timers });
    let err: unknown;
    tx.on("transportError", (e) => (err = e));
    tx.respond(createResponse(req, 200, { toTag: "t" }));
    expect(err).toBeInstanceOf(Error);
    expect(tx.state).toBe(NonInviteServerState.Terminated);
  });
});

describe("TransactionLayer", () => {
  it("matches responses by branch + CSeq method and drops strays; cleans up on termination", () => {
    const timers = new FakeTimers();
    const layer = new TransactionLayer({ timers });
    const req = publish();
    const responses: number[] = [];
    const tx = layer.sendRequest(req, { send: () => {}, reliable: false });
    tx.on("response", (r) => responses.push(r.status));
    const stray = createResponse(publish(), 200, { toTag: "s" });
    expect(layer.receiveResponse(stray)).toBe(false);
    // same branch, other method → no match
    const other = parseMessage(serializeMessage(createResponse(req, 200)).toString().replace("CSeq: 1 PUBLISH", "CSeq: 1 OPTIONS"));
    expect(layer.receiveResponse(other as SipResponse)).toBe(false);
    // a response that went over the wire (re-parsed) matches
    const wire = parseMessage(serializeMessage(createResponse(req, 200, { toTag: "t" }))) as SipResponse;
    expect(layer.receiveResponse(wire)).toBe(true);
    expect(responses).toEqual([200]);
    expect(layer.size.clients).toBe(1);
    timers.advance(T4);
    expect(layer.size.clients).toBe(0);
  });

  it("new request → server transaction; retransmission absorbed; ACK/INVITE stateless", () => {
    const timers = new FakeTimers();
    const layer = new TransactionLayer({ timers });
    const req = publish();
    const sent: SipResponse[] = [];
    const opts = { send: (r: SipResponse) => sent.push(r), reliable: false };
    const first = layer.receiveRequest(req, opts);
    expect(first.kind).toBe("new");
    const again = layer.receiveRequest(parseMessage(serializeMessage(req)) as SipRequest, opts);
    expect(again.kind).toBe("retransmission");
    if (first.kind === "new") first.transaction.respond(createResponse(req, 200, { toTag: "a" }));
    layer.receiveRequest(req, opts);
    expect(sent.map((r) => r.status)).toEqual([200, 200]);
    // different branch = different transaction
    const req2 = parseMessage(serializeMessage(req).toString().replace(req.topVia!.branch!, generateBranch())) as SipRequest;
    expect(layer.receiveRequest(req2, opts).kind).toBe("new");
    const invite = createRequest({ method: "INVITE", uri: "sip:a@b", from: "<sip:b@b>", to: "<sip:a@b>", via: { transport: "UDP", host: "h" } });
    expect(layer.receiveRequest(invite, opts).kind).toBe("stateless");
    timers.advance(64 * T1);
    expect(layer.size.servers).toBe(1); // req2 still waits for the TU
    layer.dispose();
    expect(layer.size).toEqual({ clients: 0, servers: 0 });
  });
});

describe("UAS/UAC helpers", () => {
  it("createResponse copies Via (all), From, To (+tag), Call-ID, CSeq", () => {
    const req = publish();
    req.addHeader("Via", "SIP/2.0/UDP proxy.example.test;branch=z9hG4bKproxy");
    req.addHeader("Timestamp", "54");
    const res = createResponse(req, 200, { toTag: "tt", headers: [["Expires", 600], ["SIP-ETag", "e1"]] });
    expect(res.getHeaders("Via")).toEqual(req.getHeaders("Via"));
    expect(res.from.toString()).toBe(req.from.toString());
    expect(res.to.tag).toBe("tt");
    expect(res.callId).toBe(req.callId);
    expect(res.cseq.toString()).toBe("1 PUBLISH");
    expect(res.hasHeader("Timestamp")).toBe(false);
    expect(createResponse(req, 100).getHeader("Timestamp")).toBe("54");
    expect(createResponse(req, 100, { toTag: "zz" }).to.tag).toBeUndefined();
    const round = parseMessage(serializeMessage(res)) as SipResponse;
    expect(round.status).toBe(200);
    expect(round.expires).toBe(600);
  });

  it("createRequest adds From tag, magic-cookie branch, rport, Max-Forwards and Content-Length", () => {
    const req = publish();
    expect(req.from.tag).toMatch(/^[0-9a-f]{12}$/);
    expect(req.topVia!.branch).toMatch(/^z9hG4bK/);
    expect(req.topVia!.rport).toBe(true);
    expect(req.maxForwards).toBe(70);
    const wire = serializeMessage(req).toString();
    expect(wire).toContain("Content-Length: 11\r\n");
    expect(wire).toContain("Content-Type: application/pidf+xml\r\n");
    const back = parseMessage(wire) as SipRequest;
    expect(back.bodyText).toBe("<presence/>");
  });

  it("rejects header injection through values", () => {
    const req = publish();
    expect(() => req.setHeader("Subject", "x\r\nEvil: 1")).toThrow(TypeError);
    expect(() => req.setHeader("Bad Name", "x")).toThrow(TypeError);
  });
});
