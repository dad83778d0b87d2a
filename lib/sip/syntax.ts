/** Small lexical helpers shared by the header parsers (RFC 3261 §25.1). All regexes live at module scope. */
import { SipParseError, type SipParseErrorCode } from "./parse-error";

export const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const BAD_PARAM_VALUE_RE = /[\s"<>,]/;
// eslint-disable-next-line no-control-regex -- control characters must be escaped as quoted-pairs
const QUOTE_ESCAPE_RE = /["\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;
const QUOTED_PAIR_RE = /\\(.)/gs;
const DIGITS_RE = /^\d{1,10}$/;

/** Ordered, case-insensitive parameter list (`;name=value`). Values are kept raw (quoted strings keep their quotes). */
export class Params {
  private readonly list: Array<[string, string | null]> = [];

  static parse(text: string, code: SipParseErrorCode = "INVALID_PARAMS"): Params {
    const params = new Params();
    if (text.trim() === "") return params;
    for (const part of splitTopLevel(text, ";")) {
      const p = part.trim();
      if (p === "") throw new SipParseError(code, "empty parameter");
      const eq = p.indexOf("=");
      const name = (eq < 0 ? p : p.slice(0, eq)).trim();
      if (!TOKEN_RE.test(name)) throw new SipParseError(code, `invalid parameter name`);
      let value: string | null = null;
      if (eq >= 0) {
        value = p.slice(eq + 1).trim();
        if (value === "") throw new SipParseError(code, `empty value for parameter ${name}`);
        if (value.charCodeAt(0) === 34 /* " */) {
          if (quotedStringEnd(value, 0) !== value.length) throw new SipParseError(code, `bad quoted parameter ${name}`);
        } else if (BAD_PARAM_VALUE_RE.test(value)) {
          throw new SipParseError(code, `bad value for parameter ${name}`);
        }
      }
      params.list.push([name, value]);
    }
    return params;
  }

  static from(init?: Record<string, string | null | undefined> | Params): Params {
    if (init instanceof Params) return init.clone();
    const p = new Params();
    if (init) for (const [k, v] of Object.entries(init)) if (v !== undefined) p.set(k, v);
    return p;
  }

  get size(): number {
    return this.list.length;
  }
  has(name: string): boolean {
    return this.index(name) >= 0;
  }
  /** Raw value: `undefined` if absent, `null` if present without a value. */
  get(name: string): string | null | undefined {
    const i = this.index(name);
    return i < 0 ? undefined : this.list[i][1];
  }
  /** Value with surrounding quotes and escapes removed. */
  getUnquoted(name: string): string | null | undefined {
    const v = this.get(name);
    return typeof v === "string" && v.startsWith('"') ? unquote(v) : v;
  }
  set(name: string, value: string | null): this {
    const i = this.index(name);
    if (i >= 0) this.list[i][1] = value;
    else this.list.push([name, value]);
    return this;
  }
  delete(name: string): boolean {
    const i = this.index(name);
    if (i >= 0) this.list.splice(i, 1);
    return i >= 0;
  }
  entries(): Array<[string, string | null]> {
    return this.list.map(([k, v]) => [k, v]);
  }
  clone(): Params {
    const p = new Params();
    for (const [k, v] of this.list) p.list.push([k, v]);
    return p;
  }
  toJSON(): Record<string, string | null> {
    const o: Record<string, string | null> = {};
    for (const [k, v] of this.list) o[k] = v;
    return o;
  }
  /** `;a=b;c` (empty string when there are no params). */
  toString(): string {
    let s = "";
    for (const [k, v] of this.list) s += v === null ? `;${k}` : `;${k}=${v}`;
    return s;
  }
  private index(name: string): number {
    const lower = name.toLowerCase();
    for (let i = 0; i < this.list.length; i++) if (this.list[i][0].toLowerCase() === lower) return i;
    return -1;
  }
}

/** Index just past the closing quote of the quoted-string starting at `start`, or -1 if unterminated. */
export function quotedStringEnd(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 92 /* \ */) i++;
    else if (c === 34) return i + 1;
  }
  return -1;
}

/**
 * Split `text` on `sep` at top level: separators inside quoted strings or `<...>` do not count.
 * Throws on an unterminated quote or angle bracket.
 */
export function splitTopLevel(text: string, sep: string, code: SipParseErrorCode = "MALFORMED_HEADER"): string[] {
  const sepCode = sep.charCodeAt(0);
  if (text.indexOf(sep) < 0 && text.indexOf('"') < 0) return [text];
  const out: string[] = [];
  let start = 0;
  let angle = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      const end = quotedStringEnd(text, i);
      if (end < 0) throw new SipParseError(code, "unterminated quoted string");
      i = end - 1;
    } else if (c === 60 /* < */) {
      angle = true;
    } else if (c === 62 /* > */) {
      angle = false;
    } else if (c === sepCode && !angle) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (angle) throw new SipParseError(code, "unterminated <");
  out.push(text.slice(start));
  return out;
}

/** Remove the quotes of a quoted-string and its backslash escapes (RFC 3261 §25.1 quoted-pair). */
export function unquote(s: string): string {
  if (s.length < 2 || s.charCodeAt(0) !== 34) return s;
  const inner = s.slice(1, -1);
  return inner.indexOf("\\") < 0 ? inner : inner.replace(QUOTED_PAIR_RE, "$1");
}

/** Quote a string as a quoted-string, escaping `"` and `\`. */
export function quote(s: string): string {
  return `"${s.replace(QUOTE_ESCAPE_RE, "\\$&")}"`;
}

export function parseUnsigned(text: string, max: number, code: SipParseErrorCode, what: string): number {
  const t = text.trim();
  if (!DIGITS_RE.test(t)) throw new SipParseError(code, `invalid ${what}`);
  const n = Number(t);
  if (n > max) throw new SipParseError(code, `${what} out of range`);
  return n;
}
