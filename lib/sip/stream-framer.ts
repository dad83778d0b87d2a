/**
 * Stream framing for SIP over TCP/TLS (RFC 3261 §18.3), modelled on the `ws` receiver: a small
 * state machine fed arbitrary chunks that finds where each message ends (header block + mandatory
 * Content-Length) without parsing it. Header and message sizes are bounded so a peer can never make
 * us buffer unboundedly. Keep-alives (RFC 5626 §4.4.1) between messages are consumed and reported:
 * a CRLFCRLF "ping" and a lone CRLF "pong". Used by SipStreamParser (which parses each frame) and
 * by the bridge (which relays frames byte for byte). Callbacks instead of events: one call per frame.
 */
import { SipParseError } from "./parse-error";

const CRLFCRLF = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);
const CONTENT_LENGTH_LINE_RE = /^(?:content-length|l)[ \t]*:[ \t]*(.*?)[ \t]*$/i;
const DIGITS_RE = /^\d{1,10}$/;

export interface SipStreamFramerHandlers {
  /** One complete message: `raw` starts at its start line; the header block ends at `headEnd` (index of CRLFCRLF). */
  message(raw: Buffer, headEnd: number): void;
  keepalive(kind: "ping" | "pong"): void;
  /**
   * The stream cannot be framed any more (the connection should close). For a message too large
   * (513), `head` holds what arrived of its header block (up to `maxHeaderSize` bytes, whole lines
   * only), so that a 513 can be answered before the close (RFC 3261 §21.5.14).
   */
  framingError(err: SipParseError, head?: Buffer): void;
}

const enum State {
  Boundary,
  Headers,
  Body,
  Failed,
}

export class SipStreamFramer {
  private state = State.Boundary;
  private buf: Buffer = EMPTY;
  private scanFrom = 0;
  private headEnd = 0;
  private contentLength = 0;

  constructor(
    private readonly maxHeaderSize: number,
    private readonly maxMessageSize: number,
    private readonly on: SipStreamFramerHandlers,
  ) {}

  get failed(): boolean {
    return this.state === State.Failed;
  }

  /** Bytes currently held (always ≤ maxMessageSize + a chunk). */
  get buffered(): number {
    return this.buf.length;
  }

  /**
   * Bytes held of an unfinished message. Between messages only the start of a keep-alive can wait
   * (CR, CRLF or CRLFCR: a lone CRLF pong is told from a ping's first half only by what follows,
   * RFC 5626 §4.4.1) — that is no message, so 0.
   */
  get unfinished(): number {
    return this.state === State.Boundary ? 0 : this.buf.length;
  }

  push(chunk: Buffer): void {
    if (this.state === State.Failed || chunk.length === 0) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.drain();
  }

  /** End of stream: a lone buffered CRLF counts as a pong; a partial message is dropped. */
  end(): void {
    if (this.state === State.Boundary && this.buf.length === 2 && this.buf[0] === 13 && this.buf[1] === 10) {
      this.buf = EMPTY;
      this.on.keepalive("pong");
    }
  }

  private fail(err: SipParseError, head?: Buffer): void {
    this.state = State.Failed;
    this.buf = EMPTY;
    this.on.framingError(err, head);
  }

  /** The header block of an oversized message: up to its CRLFCRLF, or its complete lines within `maxHeaderSize`. */
  private tooLarge(code: "HEADERS_TOO_LARGE" | "MESSAGE_TOO_LARGE", reason: string, headEnd: number): void {
    const end = headEnd >= 0 && headEnd <= this.maxHeaderSize ? headEnd : this.buf.lastIndexOf(10, Math.min(this.buf.length, this.maxHeaderSize) - 1) + 1;
    // a copy: the buffer is released, and the caller may keep the head while it answers
    this.fail(new SipParseError(code, reason, 513), Buffer.from(this.buf.subarray(0, end)));
  }

  private drain(): void {
    for (;;) {
      if (this.state === State.Boundary) {
        if (!this.consumeKeepAlives()) return;
        this.state = State.Headers;
        this.scanFrom = 0;
      }
      if (this.state === State.Headers) {
        const idx = this.buf.indexOf(CRLFCRLF, this.scanFrom);
        if (idx < 0) {
          if (this.buf.length > this.maxHeaderSize) return this.tooLarge("HEADERS_TOO_LARGE", "Header block too large", -1);
          this.scanFrom = Math.max(0, this.buf.length - 3);
          return;
        }
        if (idx + 4 > this.maxHeaderSize) return this.tooLarge("HEADERS_TOO_LARGE", "Header block too large", -1);
        const cl = this.findContentLength(idx);
        if (cl === undefined) return; // failed
        if (idx + 4 + cl > this.maxMessageSize) return this.tooLarge("MESSAGE_TOO_LARGE", "Message too large", idx);
        this.headEnd = idx;
        this.contentLength = cl;
        this.state = State.Body;
      }
      if (this.state === State.Body) {
        const total = this.headEnd + 4 + this.contentLength;
        if (this.buf.length < total) return;
        const raw = this.buf.length === total ? this.buf : this.buf.subarray(0, total);
        this.buf = this.buf.length === total ? EMPTY : this.buf.subarray(total);
        this.state = State.Boundary;
        this.on.message(raw, this.headEnd);
        if (this.state !== State.Boundary) return;
      }
      if (this.state === State.Failed) return;
    }
  }

  private consumeKeepAlives(): boolean {
    const b = this.buf;
    let i = 0;
    while (i < b.length) {
      if (b[i] !== 13) break;
      if (i + 1 >= b.length) break;
      if (b[i + 1] !== 10) {
        this.fail(new SipParseError("INVALID_FRAMING", "bare CR between messages"));
        return false;
      }
      if (i + 2 >= b.length) break;
      if (b[i + 2] === 13) {
        if (i + 3 >= b.length) break;
        if (b[i + 3] !== 10) {
          this.fail(new SipParseError("INVALID_FRAMING", "bare CR between messages"));
          return false;
        }
        i += 4;
        this.on.keepalive("ping");
      } else {
        i += 2;
        this.on.keepalive("pong");
      }
      if (this.state === State.Failed) return false;
    }
    if (i > 0) this.buf = i >= b.length ? EMPTY : b.subarray(i);
    return this.buf.length > 0 && this.buf[0] !== 13;
  }

  /** Content-Length (or `l`) in the header block; scans bytes, builds a string only for that line. */
  private findContentLength(headEnd: number): number | undefined {
    const b = this.buf;
    let found: number | undefined;
    let start = b.indexOf(10) + 1; // after the start line's CRLF
    if (start <= 0 || start > headEnd) start = headEnd;
    while (start < headEnd) {
      let end = b.indexOf(13, start);
      if (end < 0 || end > headEnd) end = headEnd;
      const c = b[start];
      if (c === 76 || c === 108 || c === 67 || c === 99) {
        const m = CONTENT_LENGTH_LINE_RE.exec(b.toString("latin1", start, end));
        if (m) {
          if (!DIGITS_RE.test(m[1]!) || Number(m[1]) > 2 ** 31 - 1) {
            this.fail(new SipParseError("INVALID_CONTENT_LENGTH", "invalid Content-Length"));
            return undefined;
          }
          if (found !== undefined) {
            this.fail(new SipParseError("DUPLICATE_HEADER", "duplicate Content-Length"));
            return undefined;
          }
          found = Number(m[1]);
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
}
