/**
 * Stream framing for the upstream → browser direction without parsing: the bridge passes server
 * messages byte for byte (RFC 7118 §5), so it only needs where each message ends (header block end
 * + Content-Length), RFC 5626 CRLF keep-alives between messages, and the size limits. Same framing
 * rules and errors as lib/sip's SipStreamParser (which also parses every header of every message,
 * the bulk of the bridge's per-message cost). Callbacks instead of events: one call per message.
 */
import { SipParseError } from "../sip";

const CRLFCRLF = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);
const CONTENT_LENGTH_LINE_RE = /^(?:content-length|l)[ \t]*:[ \t]*(.*?)[ \t]*$/i;
const DIGITS_RE = /^\d{1,10}$/;

export interface UpstreamFramerHandlers {
  /** One complete message: `raw` starts at its start line; the header block ends at `headEnd` (index of CRLFCRLF). */
  message(raw: Buffer, headEnd: number): void;
  keepalive(kind: "ping" | "pong"): void;
  /** The stream cannot be framed any more (the connection should close). */
  framingError(err: SipParseError): void;
}

const enum State {
  Boundary,
  Headers,
  Body,
  Failed,
}

export class UpstreamFramer {
  private state = State.Boundary;
  private buf: Buffer = EMPTY;
  private scanFrom = 0;
  private headEnd = 0;
  private contentLength = 0;

  constructor(
    private readonly maxHeaderSize: number,
    private readonly maxMessageSize: number,
    private readonly on: UpstreamFramerHandlers,
  ) {}

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

  private fail(err: SipParseError): void {
    this.state = State.Failed;
    this.buf = EMPTY;
    this.on.framingError(err);
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
          if (this.buf.length > this.maxHeaderSize) return this.fail(new SipParseError("HEADERS_TOO_LARGE", "header block too large", 513));
          this.scanFrom = Math.max(0, this.buf.length - 3);
          return;
        }
        if (idx + 4 > this.maxHeaderSize) return this.fail(new SipParseError("HEADERS_TOO_LARGE", "header block too large", 513));
        const cl = this.findContentLength(idx);
        if (cl === undefined) return; // failed
        if (idx + 4 + cl > this.maxMessageSize) return this.fail(new SipParseError("MESSAGE_TOO_LARGE", "message too large", 513));
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

const SIP_VERSION_SP = Buffer.from("SIP/2.0 ");
const REQUEST_LINE_RE = /^[A-Za-z0-9.!%*_+`'~-]+ [^ ]+ SIP\/2\.0$/;
const STATUS_LINE_RE = /^SIP\/2\.0 [1-6]\d\d /;
const BRANCH_RE = /;[ \t]*branch[ \t]*=[ \t]*([^;, \t]+)/i;

export type UpstreamMessageKind =
  | { kind: "request" }
  | { kind: "response"; status: number; via?: { start: number; end: number; value: string } }
  | { kind: "malformed"; reason: string };

/**
 * What the bridge needs to know of a framed upstream message: request or response (start line
 * checked), and for a response its top Via logical line — byte range [start, end) including its
 * CRLF — and that line's value.
 */
export function classifyUpstream(raw: Buffer, headEnd: number): UpstreamMessageKind {
  let lineEnd = raw.indexOf(13);
  if (lineEnd < 0 || lineEnd > headEnd) lineEnd = headEnd;
  const startLine = raw.toString("latin1", 0, lineEnd);
  if (raw.compare(SIP_VERSION_SP, 0, SIP_VERSION_SP.length, 0, SIP_VERSION_SP.length) !== 0) {
    return REQUEST_LINE_RE.test(startLine) ? { kind: "request" } : { kind: "malformed", reason: "invalid start line" };
  }
  if (!STATUS_LINE_RE.test(startLine + " ")) return { kind: "malformed", reason: "invalid status line" };
  const status = Number(startLine.slice(8, 11));
  // header lines: find the first Via (or compact v)
  let start = lineEnd + 2;
  while (start < headEnd) {
    let end = raw.indexOf(13, start);
    if (end < 0 || end > headEnd) end = headEnd;
    const c = raw[start];
    if (c === 86 || c === 118) {
      const head = raw.toString("latin1", start, Math.min(end, start + 8));
      const m = /^(?:via|v)[ \t]*:/i.exec(head);
      if (m) {
        // the logical line runs on over folded continuation lines (RFC 3261 §7.3.1)
        let lineStop = end;
        while (lineStop < headEnd && (raw[lineStop + 2] === 32 || raw[lineStop + 2] === 9)) {
          let next = raw.indexOf(13, lineStop + 2);
          if (next < 0 || next > headEnd) next = headEnd;
          lineStop = next;
        }
        const value = raw.toString("utf8", start + m[0].length, lineStop);
        return { kind: "response", status, via: { start, end: lineStop + 2, value } };
      }
    }
    start = end + 2;
  }
  return { kind: "response", status };
}

/** The branch parameter of the first Via value in a Via header value. */
export function topViaBranch(value: string): string | undefined {
  const comma = value.indexOf(",");
  const first = comma < 0 ? value : value.slice(0, comma);
  return BRANCH_RE.exec(first)?.[1];
}

/** `raw` without bytes [start, end): one allocation, one copy of each side. */
export function cutBytes(raw: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(raw.length - (end - start));
  raw.copy(out, 0, 0, start);
  raw.copy(out, start, end);
  return out;
}
