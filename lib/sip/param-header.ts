/**
 * Headers of the form `value *(;param)`: Event (RFC 6665 §8.2.1), Subscription-State (§8.2.3),
 * Content-Type / Content-Disposition (RFC 3261 §20.15), Reason, Allow-Events entries...
 */
import { SipParseError, type SipParseErrorCode } from "./parse-error";
import { Params, TOKEN_RE, splitTopLevel } from "./syntax";

const MEDIA_TYPE_RE = /^[A-Za-z0-9\-.!%*_+`'~]+[ \t]*\/[ \t]*[A-Za-z0-9\-.!%*_+`'~]+$/;
const WS_RE = /[ \t]+/g;

export class ParamHeader {
  constructor(
    /** The leading value: an event type, a media type (`type/subtype`, lower-cased), a substate... */
    public value: string,
    public params: Params = new Params(),
  ) {}

  static parse(text: string, code: SipParseErrorCode = "INVALID_VALUE", kind: "token" | "media-type" = "token"): ParamHeader {
    const parts = splitTopLevel(text, ";", code);
    const value = parts[0].trim();
    const ok = kind === "token" ? TOKEN_RE.test(value) : MEDIA_TYPE_RE.test(value);
    if (!ok) throw new SipParseError(code, `invalid ${kind}`);
    const params = parts.length > 1 ? Params.parse(parts.slice(1).join(";"), code) : new Params();
    return new ParamHeader(kind === "media-type" ? value.replace(WS_RE, "").toLowerCase() : value, params);
  }

  param(name: string): string | undefined {
    const v = this.params.getUnquoted(name);
    return typeof v === "string" ? v : undefined;
  }

  toString(): string {
    return this.value + this.params.toString();
  }
}
