/**
 * Hand-written SIP message parser (RFC 3261 §7, §25). One pass over the header block; list
 * headers split on top-level commas; folded lines joined; compact names expanded.
 */
import { JOINED_HEADERS, LIST_HEADERS, canonicalHeaderName } from "./header-names";
import { SipRequest, SipResponse, type SipMessageAny } from "./message";
import { SipParseError } from "./parse-error";
import { TOKEN_RE, splitTopLevel } from "./syntax";
import { SipUri, parseUri, type Uri } from "./uri";

const CRLFCRLF = Buffer.from("\r\n\r\n");
/**
 * A control character other than HTAB (unless escaped as a quoted-pair, RFC 3261 §25.1), or a
 * CR/LF not forming a pair. One pass over the char codes: on every message, the lookaround
 * regular expression this replaces cost more than splitting the header block.
 */
function hasBadControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x20 && c !== 0x7f) || c === 9) continue;
    if (c === 13) {
      if (s.charCodeAt(i + 1) !== 10) return true;
      i++; // the LF of this CRLF
      continue;
    }
    if (c === 10 || i === 0 || s.charCodeAt(i - 1) !== 92) return true;
  }
  return false;
}
const VERSION_RE = /^SIP\/(\d+)\.(\d+)$/i;
const STATUS_RE = /^(\d{3})$/;
const HEADER_NAME_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

export interface ParseOptions {
  /**
   * Stream semantics (TCP/TLS, RFC 3261 §18.3): Content-Length is required and the data must
   * hold exactly one message. Otherwise datagram semantics: a missing Content-Length means the
   * body runs to the end, extra bytes beyond it are discarded, a short body is an error.
   */
  stream?: boolean;
}

/** Parse one complete message. Throws `SipParseError` (and nothing else) on bad input. */
export function parseMessage(data: Buffer | string, options: ParseOptions = {}): SipMessageAny {
  const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let start = 0;
  // RFC 3261 §7.5: ignore CRLFs preceding the start line.
  while (start + 1 < buf.length && buf[start] === 13 && buf[start + 1] === 10) start += 2;
  if (start >= buf.length) throw new SipParseError("EMPTY_MESSAGE", "empty message");
  const headEnd = buf.indexOf(CRLFCRLF, start);
  if (headEnd < 0) throw new SipParseError("NO_HEADER_END", "header block not terminated by CRLFCRLF");
  const head = buf.toString("utf8", start, headEnd);
  const msg = parseHead(head);
  const bodyStart = headEnd + 4;
  const available = buf.length - bodyStart;
  const declared = msg.contentLength;
  if (declared === undefined) {
    if (options.stream) throw new SipParseError("MISSING_CONTENT_LENGTH", "Content-Length required on stream transports");
    msg.body = available > 0 ? buf.subarray(bodyStart) : Buffer.alloc(0);
  } else if (declared > available) {
    throw new SipParseError("BODY_TRUNCATED", "body shorter than Content-Length");
  } else {
    if (options.stream && declared < available) throw new SipParseError("INVALID_FRAMING", "bytes after message body");
    msg.body = declared > 0 ? buf.subarray(bodyStart, bodyStart + declared) : Buffer.alloc(0);
  }
  return msg;
}

/** Parse the start line and headers (no body). `head` excludes the terminating CRLFCRLF. */
export function parseHead(head: string): SipMessageAny {
  if (hasBadControl(head)) throw new SipParseError("MALFORMED_HEADER", "control character or bare CR/LF in header");
  const lines = head.split("\r\n");
  const msg = parseStartLine(lines[0]);
  let name: string | undefined;
  let value = "";
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const c = line.charCodeAt(0);
    if (c === 32 || c === 9) {
      // RFC 3261 §7.3.1 header folding: continuation line
      if (name === undefined) throw new SipParseError("MALFORMED_HEADER", "continuation line before first header");
      value += " " + line.trim();
      continue;
    }
    if (name !== undefined) addParsedHeader(msg, name, value);
    const colon = line.indexOf(":");
    if (colon <= 0) throw new SipParseError("MALFORMED_HEADER", "header line without name or colon");
    name = line.slice(0, colon).trimEnd();
    if (!HEADER_NAME_RE.test(name)) throw new SipParseError("HEADER_NAME_INVALID", "invalid header name");
    value = line.slice(colon + 1).trim();
  }
  if (name !== undefined) addParsedHeader(msg, name, value);
  msg.primeCache();
  if (msg.via.length === 0) throw new SipParseError("MISSING_HEADER", "missing Via");
  if (msg instanceof SipRequest && msg.cseq.method !== msg.method) {
    throw new SipParseError("METHOD_MISMATCH", "CSeq method does not match request method");
  }
  return msg;
}

function addParsedHeader(msg: SipRequest | SipResponse, rawName: string, value: string): void {
  const name = canonicalHeaderName(rawName);
  const lower = name.toLowerCase();
  if (LIST_HEADERS.has(lower) && value !== "") {
    const parts = splitTopLevel(value, ",");
    if (parts.length > 1 || JOINED_HEADERS.has(lower)) {
      for (const p of parts) {
        const t = p.trim();
        if (t === "") throw new SipParseError("MALFORMED_HEADER", `empty element in ${name}`);
        msg.pushRawHeader(name, t);
      }
      return;
    }
  }
  msg.pushRawHeader(name, value);
}

function parseVersion(v: string): void {
  const m = VERSION_RE.exec(v);
  if (!m) throw new SipParseError("MALFORMED_START_LINE", "invalid SIP version");
  if (m[1] !== "2" || m[2] !== "0") throw new SipParseError("UNSUPPORTED_VERSION", "SIP version not supported", 505);
}

function parseStartLine(line: string): SipRequest | SipResponse {
  if (line.length === 0) throw new SipParseError("MALFORMED_START_LINE", "empty start line");
  if (line.charCodeAt(0) === 83 /* S */ && line.startsWith("SIP/")) {
    const sp1 = line.indexOf(" ");
    if (sp1 < 0) throw new SipParseError("MALFORMED_START_LINE", "malformed status line");
    parseVersion(line.slice(0, sp1));
    const sp2 = line.indexOf(" ", sp1 + 1);
    const code = sp2 < 0 ? line.slice(sp1 + 1) : line.slice(sp1 + 1, sp2);
    if (!STATUS_RE.test(code)) throw new SipParseError("INVALID_STATUS_CODE", "invalid status code");
    const status = Number(code);
    if (status < 100 || status > 699) throw new SipParseError("INVALID_STATUS_CODE", "status code out of range");
    const res = new SipResponse({ status, reason: "" });
    res.reason = sp2 < 0 ? "" : line.slice(sp2 + 1);
    return res;
  }
  const sp1 = line.indexOf(" ");
  const sp2 = sp1 < 0 ? -1 : line.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || line.indexOf(" ", sp2 + 1) >= 0 || line.indexOf("\t") >= 0) {
    throw new SipParseError("MALFORMED_START_LINE", "malformed request line");
  }
  const method = line.slice(0, sp1);
  if (!TOKEN_RE.test(method)) throw new SipParseError("INVALID_METHOD", "invalid method");
  const uriText = line.slice(sp1 + 1, sp2);
  if (uriText === "" || uriText.charCodeAt(0) === 60) throw new SipParseError("INVALID_URI", "malformed Request-URI");
  parseVersion(line.slice(sp2 + 1));
  const uri: Uri = parseUri(uriText);
  // RFC 3261 §19.1.1 table: headers are not allowed in a Request-URI.
  if (uri instanceof SipUri && uri.headers.length > 0) throw new SipParseError("INVALID_URI", "headers in Request-URI");
  return new SipRequest({ method, uri });
}
