/** The in-memory flow under in-process SIP connections: TCP-like delivery, close, backpressure, idle timeout. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryFlow, type MemoryFlowEnd } from "@/lib/sip/memory-flow";
import { parseMessage } from "@/lib/sip/parser";
import { SipConnection } from "@/lib/sip/connection";
import { sendUntilClosed } from "../../helpers/send-until-closed";

const A = { address: "0.0.0.0", port: 7 };
const B = { address: "127.0.0.1", port: 5060 };

/** Let queued microtasks run (deliveries and close events are microtasks, never timers). */
const settle = () => new Promise<void>((r) => setImmediate(r));

function record(end: MemoryFlowEnd): string[] {
  const events: string[] = [];
  end.on("data", (c) => events.push(`data:${c.toString()}`));
  end.on("end", () => events.push("end"));
  end.on("close", () => events.push("close"));
  end.on("drain", () => events.push("drain"));
  return events;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("memory flow", () => {
  it("gives each end the other's address as its remote", () => {
    const [a, b] = createMemoryFlow(A, B);
    expect([a.localAddress, a.localPort, a.remoteAddress, a.remotePort]).toEqual(["0.0.0.0", 7, "127.0.0.1", 5060]);
    expect([b.localAddress, b.localPort, b.remoteAddress, b.remotePort]).toEqual(["127.0.0.1", 5060, "0.0.0.0", 7]);
  });

  it("writeMessage: a reader listening for 'message' gets the bytes with their parse, in order with plain writes; others get 'data'", async () => {
    const [a, b] = createMemoryFlow(A, B);
    const msg = parseMessage("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
    const raw = Buffer.from("RAW");
    const got: string[] = [];
    b.on("data", (c) => got.push(`data:${c.toString()}`));
    b.on("message", (r, m) => got.push(`message:${r.toString()}:${m === msg}`));
    a.write("one");
    expect(a.writeMessage(raw, msg)).toBe(true);
    a.write("two");
    await settle();
    expect(got).toEqual(["data:one", "message:RAW:true", "data:two"]);
    // without a 'message' listener the bytes come as data
    const [c, d] = createMemoryFlow(A, B);
    const plain = record(d);
    c.writeMessage(raw, msg);
    await settle();
    expect(plain).toEqual(["data:RAW"]);
  });

  it("delivers the written chunks in order, after write() has returned (never re-entrant), the same Buffer objects", async () => {
    const [a, b] = createMemoryFlow(A, B);
    const got: Buffer[] = [];
    b.on("data", (c) => got.push(c));
    const first = Buffer.from("INVITE");
    expect(a.write(first)).toBe(true);
    a.write(" sip:");
    expect(got).toEqual([]);
    await settle();
    expect(Buffer.concat(got).toString()).toBe("INVITE sip:");
    expect(got[0]).toBe(first);
  });

  it("end() → the peer gets the data, then 'end', ends its side too, and both ends close", async () => {
    const [a, b] = createMemoryFlow(A, B);
    const ea = record(a);
    const eb = record(b);
    a.write("last words");
    a.end();
    expect(a.writableEnded).toBe(true);
    expect(a.write("more")).toBe(false);
    await settle();
    expect(eb).toEqual(["data:last words", "end", "close"]);
    expect(ea).toEqual(["end", "close"]);
    expect(a.destroyed && b.destroyed).toBe(true);
  });

  it("destroy() closes this end at once; the peer still gets what was written, then 'end' and 'close'", async () => {
    const [a, b] = createMemoryFlow(A, B);
    const ea = record(a);
    const eb = record(b);
    a.write("bye");
    b.write("unread by a");
    a.destroy();
    expect(a.destroyed).toBe(true);
    await settle();
    expect(ea).toEqual(["close"]);
    expect(eb).toEqual(["data:bye", "end", "close"]);
  });

  it("pause() holds deliveries; past the high-water mark write() returns false and 'drain' follows resume()", async () => {
    const [a, b] = createMemoryFlow(A, B, { highWaterMark: 10 });
    const ea = record(a);
    const eb = record(b);
    b.pause();
    expect(a.write("12345")).toBe(true);
    expect(a.write("678901")).toBe(false);
    await settle();
    expect(eb).toEqual([]);
    expect(b.readableLength).toBe(11);
    b.resume();
    await settle();
    expect(eb).toEqual(["data:12345", "data:678901"]);
    expect(ea).toEqual(["drain"]);
  });

  it("a data listener that pauses stops the deliveries after its chunk", async () => {
    const [a, b] = createMemoryFlow(A, B);
    const got: string[] = [];
    b.on("data", (c) => {
      got.push(c.toString());
      b.pause();
    });
    a.write("one");
    a.write("two");
    await settle();
    expect(got).toEqual(["one"]);
    b.resume();
    await settle();
    expect(got).toEqual(["one", "two"]);
  });

  it("setTimeout: 'timeout' after that long without traffic either way; traffic postpones it", async () => {
    vi.useFakeTimers();
    const [a, b] = createMemoryFlow(A, B);
    const fired = vi.fn();
    b.setTimeout(1000, fired);
    vi.advanceTimersByTime(600);
    a.write("keep-alive"); // traffic towards b counts
    vi.advanceTimersByTime(600);
    expect(fired).not.toHaveBeenCalled();
    b.write("pong"); // so does b's own
    vi.advanceTimersByTime(999);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it("no timeout after the flow closed", () => {
    vi.useFakeTimers();
    const [a] = createMemoryFlow(A, B);
    const fired = vi.fn();
    a.setTimeout(100, fired);
    a.destroy();
    vi.advanceTimersByTime(1000);
    expect(fired).not.toHaveBeenCalled();
  });

  it("a SipConnection on a flow whose reader stays paused (the bridge, its browser not reading) destroys it past maxSendBacklog", async () => {
    const [server, bridge] = createMemoryFlow(B, A, { highWaterMark: 64 * 1024 });
    const conn = new SipConnection("flow-1", "TCP", server, "inbound", { inProcess: true, maxSendBacklog: 256 * 1024 });
    const overflow: number[] = [];
    conn.on("backlog", (bytes) => overflow.push(bytes));
    const events = record(bridge);
    bridge.pause();
    const message = Buffer.alloc(16 * 1024, "x");
    const sent = sendUntilClosed(conn, message, 4 * 1024 * 1024);
    expect(conn.closed).toBe(true);
    expect(sent).toBe(256 * 1024 + message.length);
    expect(overflow).toEqual([256 * 1024 + message.length]);
    // the reader still gets what was written before, then the end
    bridge.resume();
    await settle();
    expect(events.filter((e) => e.startsWith("data:")).length).toBe(sent / message.length);
    expect(events.slice(-2)).toEqual(["end", "close"]);
  });
});
