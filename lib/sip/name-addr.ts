/**
 * name-addr / addr-spec with header parameters (RFC 3261 §20.10, §25.1): From, To, Contact,
 * Route, Record-Route, Refer-To, P-Asserted-Identity...
 */
import { SipParseError } from "./parse-error";
import { Params, quote, quotedStringEnd, unquote } from "./syntax";
import { parseUri, type Uri } from "./uri";

const DISPLAY_TOKENS_RE = /^[A-Za-z0-9\-.!%*_+`'~]+(?:[ \t]+[A-Za-z0-9\-.!%*_+`'~]+)*$/;
const WS_RE = /[ \t]/;

export interface NameAddrInit {
  displayName?: string;
  uri: Uri;
  params?: Record<string, string | null> | Params;
}

export class NameAddr {
  /** Display name, unquoted and unescaped. */
  displayName?: string;
  uri: Uri;
  /** Header parameters (tag, expires, q, ...). */
  params: Params;

  constructor(init: NameAddrInit) {
    this.displayName = init.displayName;
    this.uri = init.uri;
    this.params = Params.from(init.params);
  }

  get tag(): string | undefined {
    const t = this.params.get("tag");
    return typeof t === "string" ? t : undefined;
  }
  set tag(value: string | undefined) {
    if (value === undefined) this.params.delete("tag");
    else this.params.set("tag", value);
  }

  static parse(text: string): NameAddr {
    const s = text.trim();
    if (s === "") throw new SipParseError("INVALID_NAME_ADDR", "empty address");
    let i = 0;
    let displayName: string | undefined;
    if (s.charCodeAt(0) === 34) {
      const end = quotedStringEnd(s, 0);
      if (end < 0) throw new SipParseError("INVALID_NAME_ADDR", "unterminated display name");
      displayName = unquote(s.slice(0, end));
      i = end;
      while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
      if (s[i] !== "<") throw new SipParseError("INVALID_NAME_ADDR", "expected < after display name");
    } else {
      const lt = s.indexOf("<");
      if (lt > 0) {
        const dn = s.slice(0, lt).trim();
        if (dn !== "" && !DISPLAY_TOKENS_RE.test(dn)) throw new SipParseError("INVALID_NAME_ADDR", "invalid display name");
        if (dn !== "") displayName = dn;
        i = lt;
      } else if (lt < 0) {
        return NameAddr.parseAddrSpec(s);
      }
    }
    // name-addr: <addr-spec>; LAQUOT/RAQUOT allow no whitespace inside the brackets (RFC 3261 §25.1)
    const gt = s.indexOf(">", i + 1);
    if (gt < 0) throw new SipParseError("INVALID_NAME_ADDR", "unterminated <");
    const inner = s.slice(i + 1, gt);
    if (inner === "" || WS_RE.test(inner)) throw new SipParseError("INVALID_NAME_ADDR", "invalid addr-spec in <>");
    const uri = wrapUri(inner);
    const tail = s.slice(gt + 1).trim();
    if (tail !== "" && tail[0] !== ";") throw new SipParseError("INVALID_NAME_ADDR", "unexpected text after >");
    const params = Params.parse(tail.slice(1), "INVALID_NAME_ADDR");
    if (tail === ";") throw new SipParseError("INVALID_NAME_ADDR", "empty parameter");
    return new NameAddr({ displayName, uri, params });
  }

  /** addr-spec form: header params start at the first `;` after the userinfo (§20: a URI with ; , ? needs <>). */
  private static parseAddrSpec(s: string): NameAddr {
    const at = s.indexOf("@");
    const semi = s.indexOf(";", at < 0 ? 0 : at);
    const uriText = (semi < 0 ? s : s.slice(0, semi)).trim();
    if (WS_RE.test(uriText)) throw new SipParseError("INVALID_NAME_ADDR", "whitespace in addr-spec");
    const uri = wrapUri(uriText);
    if (uri.kind === "sip" && uri.headers.length > 0) {
      throw new SipParseError("INVALID_NAME_ADDR", "URI with headers must be enclosed in <>");
    }
    const params = semi < 0 ? new Params() : Params.parse(s.slice(semi + 1), "INVALID_NAME_ADDR");
    return new NameAddr({ uri, params });
  }

  toString(): string {
    const dn = this.displayName !== undefined && this.displayName !== "" ? quote(this.displayName) + " " : "";
    return `${dn}<${this.uri.toString()}>${this.params.toString()}`;
  }

  clone(): NameAddr {
    return new NameAddr({ displayName: this.displayName, uri: this.uri.clone(), params: this.params.clone() });
  }
}

function wrapUri(text: string): Uri {
  try {
    return parseUri(text);
  } catch (e) {
    if (e instanceof SipParseError) throw new SipParseError("INVALID_NAME_ADDR", e.reason);
    throw e;
  }
}

/** `Contact: *` (RFC 3261 §10.2.2) or a list of addresses. */
export type ContactValue = NameAddr | "*";
