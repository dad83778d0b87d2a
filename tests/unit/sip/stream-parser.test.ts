import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SipStreamParser, type KeepAliveKind } from "../../../lib/sip/stream-parser";
import type { SipMessageAny } from "../../../lib/sip/message";
import { SipParseError } from "../../../lib/sip/parse-error";
import { serializeMessage } from "../../../lib/sip/serializer";
import { parseMessage } from "../../../lib/sip/parser";
import { loadKamailioFixtures } from "./fixture-loader";

interface Collected {
  messages: SipMessageAny[];
  raws: Buffer[];
  keepalives: KeepAliveKind[];
  parseErrors: SipParseError[];
  fatal: SipParseError[];
}

function collect(parser: SipStreamParser): Collected {
  const c: Collected = { messages: [], raws: [], keepalives: [], parseErrors: [], fatal: [] };
  parser.on("message", (m, raw) => {
    c.messages.push(m);
    c.raws.push(Buffer.from(raw));
  });
  parser.on("keepalive", (k) => c.keepalives.push(k));
  parser.on("parseError", (e) => c.parseErrors.push(e));
  parser.on("framingError", (e) => c.fatal.push(e));
  return c;
}

const fixtures = loadKamailioFixtures().filter((f) => !f.isHttp && f.exact);
const notify = fixtures.find((f) => f.startLine.startsWith("NOTIFY") && f.wire.length > 800)!.wire;
const ok200 = fixtures.find((f) => f.startLine.startsWith("SIP/2.0 200"))!.wire;
const PING = Buffer.from("\r\n\r\n");
const PONG = Buffer.from("\r\n");

describe("SipStreamParser", () => {
  const stream = Buffer.concat([PING, notify, ok200, PING, notify, PONG, ok200]);

  it("whole stream in one chunk: messages and keep-alives in order", () => {
    const p = new SipStreamParser();
    const c = collect(p);
    p.push(stream);
    expect(c.messages.map((m) => m.startLine())).toEqual([notify, ok200, notify, ok200].map((b) => b.toString().split("\r\n")[0]));
    expect(c.keepalives).toEqual(["ping", "ping", "pong"]);
    expect(c.raws[0].equals(notify)).toBe(true);
    expect(c.messages[0].body.length).toBe(c.messages[0].contentLength);
    expect(c.fatal).toEqual([]);
    expect(p.buffered).toBe(0);
  });

  it("split into two chunks at every byte boundary gives the same result", () => {
    for (let i = 1; i < stream.length; i++) {
      const p = new SipStreamParser();
      const c = collect(p);
      p.push(stream.subarray(0, i));
      p.push(stream.subarray(i));
      expect(c.messages.length, `split at ${i}`).toBe(4);
      expect(c.keepalives, `split at ${i}`).toEqual(["ping", "ping", "pong"]);
      expect(c.raws[2].equals(notify)).toBe(true);
      expect(c.fatal).toEqual([]);
    }
  });

  it("split into three chunks around every header/body boundary and fed byte by byte", () => {
    const headEnd = notify.indexOf("\r\n\r\n");
    for (let i = headEnd - 3; i <= headEnd + 5; i++) {
      for (let j = i + 1; j < i + 40; j++) {
        const p = new SipStreamParser();
        const c = collect(p);
        p.push(notify.subarray(0, i));
        p.push(notify.subarray(i, j));
        p.push(notify.subarray(j));
        expect(c.messages.length).toBe(1);
        expect(c.messages[0].body.equals(parseMessage(notify).body)).toBe(true);
      }
    }
    const p = new SipStreamParser();
    const c = collect(p);
    for (const byte of stream) p.push(Buffer.from([byte]));
    expect(c.messages.length).toBe(4);
    expect(c.keepalives).toEqual(["ping", "ping", "pong"]);
  });

  it("a lone trailing CRLF is held until more data or end() decides it is a pong", () => {
    const p = new SipStreamParser();
    const c = collect(p);
    p.push(PONG);
    expect(c.keepalives).toEqual([]);
    expect([p.buffered, p.unfinished]).toEqual([2, 0]); // held, but no message has begun
    p.push(PONG); // completes a ping
    expect(c.keepalives).toEqual(["ping"]);
    p.push(PONG);
    p.end();
    expect(c.keepalives).toEqual(["ping", "pong"]);
    const q = new SipStreamParser();
    q.push(Buffer.concat([PONG, notify.subarray(0, 10)])); // a message has begun after the pong
    expect([q.buffered, q.unfinished]).toEqual([10, 10]);
  });

  it("missing Content-Length is fatal and later input is ignored", () => {
    const p = new SipStreamParser();
    const c = collect(p);
    const text = notify.toString("latin1").replace(/Content-Length: \d+\r\n/, "");
    p.push(Buffer.from(text, "latin1"));
    p.push(ok200);
    expect(c.fatal.map((e) => e.code)).toEqual(["MISSING_CONTENT_LENGTH"]);
    expect(c.messages).toEqual([]);
    expect(p.failed).toBe(true);
    expect(p.buffered).toBe(0);
  });

  it("invalid and duplicate Content-Length are fatal", () => {
    for (const [repl, code] of [
      ["Content-Length: -3", "INVALID_CONTENT_LENGTH"],
      ["Content-Length: 0\r\nl: 0", "DUPLICATE_HEADER"],
    ] as const) {
      const p = new SipStreamParser();
      const c = collect(p);
      p.push(Buffer.from(ok200.toString("latin1").replace("Content-Length: 0", repl), "latin1"));
      expect(c.fatal.map((e) => e.code)).toEqual([code]);
    }
  });

  it("a malformed message with good framing is reported and the stream continues", () => {
    const bad = Buffer.from(ok200.toString("latin1").replace(/CSeq: .*\r\n/, "CSeq: x y z\r\n"), "latin1");
    const p = new SipStreamParser();
    const c = collect(p);
    p.push(Buffer.concat([bad, ok200]));
    expect(c.parseErrors.map((e) => e.code)).toEqual(["INVALID_CSEQ"]);
    expect(c.messages.length).toBe(1);
    expect(c.fatal).toEqual([]);
  });

  it("never buffers more than the header limit when CRLFCRLF never comes", () => {
    const p = new SipStreamParser({ maxHeaderSize: 4096 });
    const c = collect(p);
    const chunk = Buffer.alloc(1000, "a");
    let maxBuffered = 0;
    for (let i = 0; i < 100 && !p.failed; i++) {
      p.push(chunk);
      maxBuffered = Math.max(maxBuffered, p.buffered);
    }
    expect(c.fatal.map((e) => e.code)).toEqual(["HEADERS_TOO_LARGE"]);
    expect(maxBuffered).toBeLessThanOrEqual(4096 + chunk.length);
  });

  it("rejects a declared body that would exceed the message limit before buffering it", () => {
    const p = new SipStreamParser({ maxMessageSize: 2000 });
    const c = collect(p);
    p.push(Buffer.from(ok200.toString("latin1").replace("Content-Length: 0", "Content-Length: 100000"), "latin1"));
    expect(c.fatal.map((e) => [e.code, e.status])).toEqual([["MESSAGE_TOO_LARGE", 513]]);
  });

  it("hands the header block of an oversized message to framingError, so a 513 can be formed", () => {
    const p = new SipStreamParser({ maxMessageSize: 2000 });
    const heads: Array<Buffer | undefined> = [];
    p.on("framingError", (_e, head) => heads.push(head));
    const big = ok200.toString("latin1").replace("Content-Length: 0", "Content-Length: 100000");
    p.push(Buffer.from(big + "x".repeat(500), "latin1"));
    expect(heads).toHaveLength(1);
    expect(heads[0]!.toString("latin1")).toBe(big.slice(0, big.indexOf("\r\n\r\n")));
  });

  it("hands the complete lines of an endless header block (never a cut line) to framingError", () => {
    const p = new SipStreamParser({ maxHeaderSize: 4096 });
    const heads: Array<Buffer | undefined> = [];
    p.on("framingError", (_e, head) => heads.push(head));
    const start = "OPTIONS sip:a@example.test SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n";
    p.push(Buffer.from(start + "X-Long: " + "y".repeat(5000), "latin1"));
    expect(heads).toHaveLength(1);
    expect(heads[0]!.toString("latin1")).toBe(start);
  });

  it("emits what the serializer writes for every fixture, back to back", () => {
    const all = fixtures.map((f) => serializeMessage(parseMessage(f.wire)));
    const p = new SipStreamParser();
    const c = collect(p);
    const joined = Buffer.concat(all);
    for (let i = 0; i < joined.length; i += 97) p.push(joined.subarray(i, i + 97));
    expect(c.messages.length).toBe(all.length);
    c.raws.forEach((r, i) => expect(r.equals(all[i])).toBe(true));
  });

  it("RFC 4475 torture messages frame on a stream when they carry a correct Content-Length", () => {
    const wsinv = readFileSync(join(process.cwd(), "tests/fixtures/sip/rfc4475/wsinv.sip"));
    const p = new SipStreamParser();
    const c = collect(p);
    p.push(Buffer.concat([wsinv, wsinv]));
    expect(c.messages.length).toBe(2);
  });
});
