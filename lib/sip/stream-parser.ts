/**
 * Stream framer for SIP over TCP/TLS (RFC 3261 §18.3), modelled on the `ws` receiver: a small
 * state machine fed arbitrary chunks that emits whole messages. Content-Length is mandatory on
 * streams; header and message sizes are bounded so a peer can never make us buffer unboundedly.
 * Keep-alives (RFC 5626 §4.4.1) between messages are consumed and reported: a CRLFCRLF "ping"
 * (answer it with a CRLF "pong" — see `SipTransport`) and a lone CRLF "pong".
 *
 * Events:
 *  - `message` (msg, raw)        a complete, parsed message and its exact bytes
 *  - `parseError` (err, raw)     framing intact but the message is malformed; the stream continues
 *  - `keepalive` (kind)          "ping" (CRLFCRLF) or "pong" (CRLF)
 *  - `framingError` (err)        fatal: the byte stream cannot be resynchronised; close the connection
 */
import { EventEmitter } from "node:events";
import type { SipMessageAny } from "./message";
import { SipParseError } from "./parse-error";
import { parseHead } from "./parser";

const CRLFCRLF = Buffer.from("\r\n\r\n");
const CONTENT_LENGTH_LINE_RE = /^(?:content-length|l)[ \t]*:[ \t]*(.*?)[ \t]*$/i;
const DIGITS_RE = /^\d{1,10}$/;

export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024;

export interface SipStreamParserOptions {
  /** Largest header block (start line + headers + CRLFCRLF). Default 16 KiB. */
  maxHeaderSize?: number;
  /** Largest message, headers plus body. Default 64 KiB. */
  maxMessageSize?: number;
}

export type KeepAliveKind = "ping" | "pong";

export interface SipStreamParserEvents {
  message: [msg: SipMessageAny, raw: Buffer];
  parseError: [err: SipParseError, raw: Buffer];
  keepalive: [kind: KeepAliveKind];
  framingError: [err: SipParseError];
}

enum FramerState {
  Boundary = "boundary",
  Headers = "headers",
  Body = "body",
  Failed = "failed",
}

export class SipStreamParser extends EventEmitter<SipStreamParserEvents> {
  readonly maxHeaderSize: number;
  readonly maxMessageSize: number;
  private state = FramerState.Boundary;
  private buf: Buffer = Buffer.alloc(0);
  /** Where to resume the CRLFCRLF search (avoids rescanning on every chunk). */
  private scanFrom = 0;
  private headEnd = 0;
  private contentLength = 0;

  constructor(options: SipStreamParserOptions = {}) {
    super();
    this.maxHeaderSize = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  get failed(): boolean {
    return this.state === FramerState.Failed;
  }

  /** Bytes currently held (always ≤ maxMessageSize + a chunk). */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): void {
    if (this.state === FramerState.Failed || chunk.length === 0) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.drain();
  }

  /** End of stream: a lone buffered CRLF counts as a pong; a partial message is dropped. */
  end(): void {
    if (this.state === FramerState.Boundary && this.buf.length === 2 && this.buf[0] === 13 && this.buf[1] === 10) {
      this.buf = Buffer.alloc(0);
      this.emit("keepalive", "pong");
    }
  }

  private fail(err: SipParseError): void {
    this.state = FramerState.Failed;
    this.buf = Buffer.alloc(0);
    this.emit("framingError", err);
  }

  private drain(): void {
    for (;;) {
      if (this.state === FramerState.Boundary) {
        if (!this.consumeKeepAlives()) return;
        this.state = FramerState.Headers;
        this.scanFrom = 0;
      }
      if (this.state === FramerState.Headers) {
        const idx = this.buf.indexOf(CRLFCRLF, this.scanFrom);
        if (idx < 0) {
          if (this.buf.length > this.maxHeaderSize) {
            return this.fail(new SipParseError("HEADERS_TOO_LARGE", "header block too large", 513));
          }
          this.scanFrom = Math.max(0, this.buf.length - 3);
          return;
        }
        if (idx + 4 > this.maxHeaderSize) return this.fail(new SipParseError("HEADERS_TOO_LARGE", "header block too large", 513));
        const cl = this.findContentLength(idx);
        if (cl === undefined) return; // failed
        if (idx + 4 + cl > this.maxMessageSize) return this.fail(new SipParseError("MESSAGE_TOO_LARGE", "message too large", 513));
        this.headEnd = idx;
        this.contentLength = cl;
        this.state = FramerState.Body;
      }
      if (this.state === FramerState.Body) {
        const total = this.headEnd + 4 + this.contentLength;
        if (this.buf.length < total) return;
        const raw = this.buf.subarray(0, total);
        this.buf = this.buf.length === total ? Buffer.alloc(0) : this.buf.subarray(total);
        this.state = FramerState.Boundary;
        this.deliver(raw, this.headEnd);
        if (this.state !== FramerState.Boundary) return; // a listener may have failed/reset us
      }
      if (this.state === FramerState.Failed) return;
    }
  }

  /** Skip CRLF keep-alives at a message boundary. Returns true when a message start is buffered. */
  private consumeKeepAlives(): boolean {
    const b = this.buf;
    let i = 0;
    while (i < b.length) {
      if (b[i] !== 13) break;
      // need to see enough bytes to tell a ping (CRLFCRLF) from a pong (CRLF + message start)
      if (i + 1 >= b.length) break;
      if (b[i + 1] !== 10) {
        this.fail(new SipParseError("INVALID_FRAMING", "bare CR between messages"));
        return false;
      }
      if (i + 2 >= b.length) break; // CRLF then nothing yet: wait
      if (b[i + 2] === 13) {
        if (i + 3 >= b.length) break;
        if (b[i + 3] !== 10) {
          this.fail(new SipParseError("INVALID_FRAMING", "bare CR between messages"));
          return false;
        }
        i += 4;
        this.emit("keepalive", "ping");
      } else {
        i += 2;
        this.emit("keepalive", "pong");
      }
      if (this.state === FramerState.Failed) return false;
    }
    if (i > 0) this.buf = i >= b.length ? Buffer.alloc(0) : b.subarray(i);
    return this.buf.length > 0 && this.buf[0] !== 13;
  }

  private findContentLength(headEnd: number): number | undefined {
    const head = this.buf.toString("latin1", 0, headEnd);
    let found: number | undefined;
    let start = head.indexOf("\r\n") + 2;
    if (start < 2) start = head.length;
    while (start < head.length) {
      let end = head.indexOf("\r\n", start);
      if (end < 0) end = head.length;
      const c = head.charCodeAt(start);
      if (c === 76 || c === 108 || c === 67 || c === 99) {
        const m = CONTENT_LENGTH_LINE_RE.exec(head.slice(start, end));
        if (m) {
          if (!DIGITS_RE.test(m[1]) || Number(m[1]) > 2 ** 31 - 1) {
            this.fail(new SipParseError("INVALID_CONTENT_LENGTH", "invalid Content-Length"));
            return undefined;
          }
          const n = Number(m[1]);
          if (found !== undefined) {
            this.fail(new SipParseError("DUPLICATE_HEADER", "duplicate Content-Length"));
            return undefined;
          }
          found = n;
        }
      }
      start = end + 2;
    }
    if (found === undefined) {
      this.fail(new SipParseError("MISSING_CONTENT_LENGTH", "Content-Length required on stream transports"));
      return undefined;
    }
    return found;
  }

  private deliver(raw: Buffer, headEnd: number): void {
    let msg: SipMessageAny;
    try {
      msg = parseHead(raw.toString("utf8", 0, headEnd));
    } catch (e) {
      if (e instanceof SipParseError) {
        this.emit("parseError", e, raw);
        return;
      }
      throw e;
    }
    msg.body = raw.length > headEnd + 4 ? Buffer.from(raw.subarray(headEnd + 4)) : Buffer.alloc(0);
    this.emit("message", msg, raw);
  }
}
