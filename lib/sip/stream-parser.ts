/**
 * SIP over TCP/TLS (RFC 3261 §18.3): SipStreamFramer finds the messages in the byte stream, this
 * parses each one. Keep-alives (RFC 5626 §4.4.1) are reported: a CRLFCRLF "ping" (answer it with a
 * CRLF "pong" — see `SipTransport`) and a lone CRLF "pong".
 *
 * Events:
 *  - `message` (msg, raw)        a complete, parsed message and its exact bytes
 *  - `parseError` (err, raw)     framing intact but the message is malformed; the stream continues
 *  - `keepalive` (kind)          "ping" (CRLFCRLF) or "pong" (CRLF)
 *  - `framingError` (err, head)  fatal: the byte stream cannot be resynchronised; close the connection
 *                                (`head`: the header block of a message too large, to answer 513)
 */
import { EventEmitter } from "node:events";
import type { SipMessageAny } from "./message";
import { SipParseError } from "./parse-error";
import { parseHead } from "./parser";
import { SipStreamFramer } from "./stream-framer";

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
  framingError: [err: SipParseError, head: Buffer | undefined];
}

export class SipStreamParser extends EventEmitter<SipStreamParserEvents> {
  readonly maxHeaderSize: number;
  readonly maxMessageSize: number;
  private readonly framer: SipStreamFramer;

  constructor(options: SipStreamParserOptions = {}) {
    super();
    this.maxHeaderSize = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.framer = new SipStreamFramer(this.maxHeaderSize, this.maxMessageSize, {
      message: (raw, headEnd) => this.deliver(raw, headEnd),
      keepalive: (kind) => this.emit("keepalive", kind),
      framingError: (err, head) => this.emit("framingError", err, head),
    });
  }

  get failed(): boolean {
    return this.framer.failed;
  }

  /** Bytes currently held (always ≤ maxMessageSize + a chunk). */
  get buffered(): number {
    return this.framer.buffered;
  }

  /** Bytes held of an unfinished message; a keep-alive's start between messages is none (`SipStreamFramer.unfinished`). */
  get unfinished(): number {
    return this.framer.unfinished;
  }

  push(chunk: Buffer): void {
    this.framer.push(chunk);
  }

  /** End of stream: a lone buffered CRLF counts as a pong; a partial message is dropped. */
  end(): void {
    this.framer.end();
  }

  /**
   * A message its in-process peer already framed and parsed with `parseFrame` (the WebSocket
   * bridge over a memory flow): taken as if its bytes had been pushed — the same `message` event
   * with the same parse — when it is exactly one frame at a message boundary within this
   * parser's limits. False otherwise: push the bytes instead, and the framer decides.
   */
  acceptParsed(raw: Buffer, msg: SipMessageAny): boolean {
    if (this.framer.buffered > 0 || this.framer.failed) return false;
    const length = msg.contentLength;
    const head = raw.length - msg.body.length;
    if (length !== msg.body.length || head > this.maxHeaderSize || raw.length > this.maxMessageSize) return false;
    this.emit("message", msg, raw);
    return true;
  }

  private deliver(raw: Buffer, headEnd: number): void {
    let msg: SipMessageAny;
    try {
      msg = parseFrame(raw, headEnd);
    } catch (e) {
      if (e instanceof SipParseError) {
        this.emit("parseError", e, raw);
        return;
      }
      throw e;
    }
    this.emit("message", msg, raw);
  }
}

/**
 * Parse one stream frame (RFC 3261 §18.3): `raw` is a complete message whose header block ends
 * at `headEnd` (the index of CRLFCRLF) and whose body is the rest. The body is copied: a frame is
 * often a view into a larger chunk. Throws `SipParseError`.
 */
export function parseFrame(raw: Buffer, headEnd: number): SipMessageAny {
  const msg = parseHead(raw.toString("utf8", 0, headEnd));
  msg.body = raw.length > headEnd + 4 ? Buffer.from(raw.subarray(headEnd + 4)) : Buffer.alloc(0);
  return msg;
}
