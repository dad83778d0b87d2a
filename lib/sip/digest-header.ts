/** `Digest` challenge / credentials header values (RFC 3261 §25.1 challenge/credentials, RFC 7616 §3.3-3.4). */
import { SipParseError } from "./parse-error";
import { TOKEN_RE, quote, quotedStringEnd, unquote } from "./syntax";

const SCHEME_RE = /^([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+/;

/** Parameters that are written as quoted strings (the rest as tokens). */
const QUOTED = new Set(["realm", "nonce", "opaque", "domain", "username", "uri", "response", "cnonce", "qop-options"]);

export interface DigestParams {
  scheme: string;
  /** Lower-case parameter names, unquoted values. */
  params: Record<string, string>;
}

export function parseDigestHeader(value: string): DigestParams {
  const m = SCHEME_RE.exec(value.trim());
  if (!m) throw new SipParseError("INVALID_VALUE", "malformed authentication header");
  const text = value.trim().slice(m[0].length);
  const params: Record<string, string> = Object.create(null);
  let i = 0;
  while (i < text.length) {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === ",")) i++;
    if (i >= text.length) break;
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new SipParseError("INVALID_VALUE", "malformed authentication parameter");
    const name = text.slice(i, eq).trim().toLowerCase();
    if (!TOKEN_RE.test(name)) throw new SipParseError("INVALID_VALUE", "malformed authentication parameter name");
    i = eq + 1;
    while (text[i] === " " || text[i] === "\t") i++;
    let v: string;
    if (text[i] === '"') {
      const end = quotedStringEnd(text, i);
      if (end < 0) throw new SipParseError("INVALID_VALUE", "unterminated quoted string");
      v = unquote(text.slice(i, end));
      i = end;
    } else {
      let end = text.indexOf(",", i);
      if (end < 0) end = text.length;
      v = text.slice(i, end).trim();
      i = end;
    }
    if (name in params) throw new SipParseError("INVALID_VALUE", `duplicate authentication parameter ${name}`);
    params[name] = v;
  }
  return { scheme: m[1], params };
}

export function serializeDigestHeader(params: Record<string, string | undefined>, scheme = "Digest"): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    parts.push(QUOTED.has(k) || (k === "qop" && v.includes(",")) ? `${k}=${quote(v)}` : `${k}=${v}`);
  }
  return `${scheme} ${parts.join(", ")}`;
}
