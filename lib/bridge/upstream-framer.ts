/**
 * The bridge's view of upstream → browser messages, framed by lib/sip's SipStreamFramer without
 * parsing: the bridge passes server messages byte for byte (RFC 7118 §5), so it only needs to
 * classify each frame and, for responses, find and cut its own top Via.
 */
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
