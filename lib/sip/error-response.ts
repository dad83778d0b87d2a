/**
 * Best-effort 4xx/5xx for a request that failed to parse (RFC 3261 §16.3 / §21.4.1): if the raw
 * bytes hold a request line and Via, From, To, Call-ID and CSeq lines, copy them verbatim into a
 * response carrying the parse error's status and reason — when its top Via parses with a branch,
 * which is what a peer matches a response to its transaction by (RFC 3261 §17.1.3). Otherwise
 * there is nobody to answer (the transport then closes the connection).
 */
import { canonicalHeaderName } from "./header-names";
import { SipResponse } from "./message";
import type { SipParseError } from "./parse-error";
import { Via } from "./via";

const REQUEST_LINE_RE = /^[A-Za-z0-9\-.!%*_+`'~]+ \S+ SIP\/\d+\.\d+$/;
const HEADER_RE = /^([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*:[ \t]*(.*?)[ \t]*$/;
// eslint-disable-next-line no-control-regex -- values with control characters are not echoed back
const CTL_RE = /[\x00-\x08\x0a-\x1f\x7f]/;
const NEEDED = ["Via", "From", "To", "Call-ID", "CSeq"] as const;

export function buildErrorResponse(raw: Buffer, error: SipParseError): SipResponse | undefined {
  let end = raw.indexOf("\r\n\r\n");
  if (end < 0) end = Math.min(raw.length, 16 * 1024);
  const lines = raw.toString("utf8", 0, end).split("\r\n");
  let first = 0;
  while (first < lines.length && lines[first] === "") first++;
  if (first >= lines.length || !REQUEST_LINE_RE.test(lines[first])) return undefined;
  const found = new Map<string, string[]>();
  let last: [string, number] | undefined;
  for (let i = first + 1; i < lines.length; i++) {
    const line = lines[i];
    if ((line.startsWith(" ") || line.startsWith("\t")) && last) {
      const arr = found.get(last[0]);
      if (arr) arr[last[1]] += " " + line.trim();
      continue;
    }
    const m = HEADER_RE.exec(line);
    if (!m) {
      last = undefined;
      continue;
    }
    const name = canonicalHeaderName(m[1]);
    if (!(NEEDED as readonly string[]).includes(name)) {
      last = undefined;
      continue;
    }
    const arr = found.get(name) ?? [];
    arr.push(m[2]);
    found.set(name, arr);
    last = [name, arr.length - 1];
  }
  for (const n of NEEDED) {
    const values = found.get(n);
    if (!values || values.length === 0 || values.some((v) => v === "" || CTL_RE.test(v))) return undefined;
    // the same line twice says one thing (answer with it once); two different ones, nobody knows which
    if (n !== "Via" && values.length > 1) {
      if (values.some((v) => v !== values[0])) return undefined;
      values.length = 1;
    }
  }
  const res = new SipResponse({ status: error.status, reason: error.reason });
  for (const n of NEEDED) for (const v of found.get(n)!) res.addHeader(n, v);
  try {
    if (!Via.parse(found.get("Via")![0]).branch) return undefined;
  } catch {
    return undefined; // garbage where the peer looks for its transaction: nobody could take the answer
  }
  return res;
}
