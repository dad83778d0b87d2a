/** The SIP header timeout (issue 11 item 10) on fake time: the timer itself and the transport using it. */
import { describe, expect, it } from "vitest";
import { SipTransport } from "@/lib/sip";
import { UnfinishedMessageTimer } from "@/lib/sip/unfinished-message-timer";
import { FakeTimers } from "./fake-timers";

const OPTIONS = (n: number) =>
  `OPTIONS sip:a@example.test SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK${n}\r\nFrom: <sip:b@example.test>;tag=1\r\nTo: <sip:a@example.test>\r\nCall-ID: c${n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;

describe("UnfinishedMessageTimer", () => {
  it("fires when one message stays unfinished for the timeout, however many bytes trickle in", () => {
    const timers = new FakeTimers();
    let fired = 0;
    const t = new UnfinishedMessageTimer(30_000, timers, () => fired++);
    for (let s = 0; s < 29; s++) {
      t.afterData(s + 1); // one more byte each second
      timers.advance(1000);
    }
    expect(fired).toBe(0);
    timers.advance(1000);
    expect(fired).toBe(1);
    expect(timers.pending).toBe(0);
  });

  it("measures each message from its own first byte; whole messages and idle time never count", () => {
    const timers = new FakeTimers();
    let fired = 0;
    const t = new UnfinishedMessageTimer(30_000, timers, () => fired++);
    t.afterData(10); // a message begins
    timers.advance(20_000);
    t.messageCompleted(); // it ends, and the next begins in the same chunk
    t.afterData(5);
    timers.advance(20_000); // 40 s since the first byte of the first, 20 s of the second
    expect(fired).toBe(0);
    t.messageCompleted();
    t.afterData(0); // nothing unfinished: idle for as long as it likes
    timers.advance(120_000);
    expect(fired).toBe(0);
    t.afterData(3);
    timers.advance(30_000);
    expect(fired).toBe(1);
  });

  it("0 disables it", () => {
    const timers = new FakeTimers();
    const t = new UnfinishedMessageTimer(0, timers, () => expect.unreachable());
    t.afterData(100);
    timers.advance(3_600_000);
    expect(timers.pending).toBe(0);
  });
});

describe("SipTransport header timeout", () => {
  async function flowWith(headerTimeoutMs?: number) {
    const timers = new FakeTimers();
    const transport = new SipTransport({ timers, headerTimeoutMs });
    const received: string[] = [];
    transport.on("message", ({ message }) => received.push(message.callId));
    const peer = transport.openFlow();
    let closed = false;
    peer.on("close", () => (closed = true));
    const settle = () => new Promise((r) => setImmediate(r));
    return { timers, transport, peer, received, closed: () => closed, settle };
  }

  it("closes a connection whose message stays unfinished past the timeout (default 30 s)", async () => {
    const f = await flowWith();
    const msg = OPTIONS(1);
    for (let s = 0; s < 29; s++) {
      f.peer.write(msg.slice(s, s + 1));
      await f.settle();
      f.timers.advance(1000);
    }
    expect(f.closed()).toBe(false);
    f.timers.advance(1000);
    await f.settle();
    expect(f.closed()).toBe(true);
    expect(f.received).toEqual([]);
  });

  it("a keep-alive CRLF waiting between messages is no unfinished message: lone pongs minutes apart keep the connection", async () => {
    // a lone CRLF is held until the next bytes tell a pong from half a ping (RFC 5626 §4.4.1)
    const f = await flowWith(30_000);
    for (let n = 0; n < 4; n++) {
      f.peer.write("\r\n");
      await f.settle();
      f.timers.advance(60_000);
      await f.settle();
      expect(f.closed(), `after lone CRLF ${n + 1}`).toBe(false);
    }
    f.peer.write(OPTIONS(1));
    await f.settle();
    expect(f.received).toEqual(["c1"]);
    await f.transport.close();
  });

  it("leaves a connection alone that completes its messages, however slowly they arrive in total", async () => {
    const f = await flowWith(5000);
    for (let n = 0; n < 10; n++) {
      const msg = OPTIONS(n);
      f.peer.write(msg.slice(0, 40));
      await f.settle();
      f.timers.advance(4000);
      f.peer.write(msg.slice(40));
      await f.settle();
      f.timers.advance(60_000);
    }
    expect(f.closed()).toBe(false);
    expect(f.received).toHaveLength(10);
    await f.transport.close();
  });
});
