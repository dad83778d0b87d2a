/**
 * Compose a `multipart/related` body (RFC 2387) — in particular the body of an RLS NOTIFY
 * (RFC 4662 §5): `multipart/related;type="application/rlmi+xml";start="<cid>";boundary=...`,
 * the RLMI document first, then one part per resource instance, each with Content-Transfer-
 * Encoding binary, Content-ID and Content-Type. Line ends are CRLF.
 */
import { formatParam } from "./media-type";
import { CONTENT_TYPES } from "./namespaces";
import type { RlmiList } from "./rlmi";
import { composeRlmi } from "./rlmi-composer";

export interface OutgoingPart {
  contentType: string;
  /** Without angle brackets; generated when absent. */
  contentId?: string;
  /** Extra part headers (name → value). */
  headers?: Record<string, string>;
  body: string | Uint8Array;
}

export interface MultipartRelatedInput {
  /** The root's media type (`type` parameter), e.g. application/rlmi+xml. Default: the first part's. */
  type?: string;
  /** Parts in order; the first is the root (named by `start`). */
  parts: OutgoingPart[];
  /** Default: generated (random, checked not to occur in any part). */
  boundary?: string;
  /** Domain part for generated Content-IDs (default "herald.invalid"). */
  cidDomain?: string;
}

export interface ComposedMultipart {
  /** Content-Type header value. */
  contentType: string;
  body: Uint8Array;
  /** Body as text (UTF-8); convenient when every part is text. */
  text: string;
  /** Content-IDs of the parts, in order (without angle brackets). */
  contentIds: string[];
}

const encoder = new TextEncoder();
const BOUNDARY_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function randomString(length: number): string {
  const bytes = new Uint8Array(length);
  globalThis.crypto.getRandomValues(bytes);
  let s = "";
  for (const b of bytes) s += BOUNDARY_CHARS[b % BOUNDARY_CHARS.length];
  return s;
}

/** A random boundary (24 alphanumerics, like Kamailio's). */
export function generateBoundary(): string {
  return randomString(24);
}

/** A random Content-ID (without angle brackets). */
export function generateContentId(domain = "herald.invalid"): string {
  return `${randomString(16)}@${domain}`;
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export function composeMultipartRelated(input: MultipartRelatedInput): ComposedMultipart {
  if (input.parts.length === 0) throw new RangeError("multipart/related needs at least one part");
  const bodies = input.parts.map((p) => (typeof p.body === "string" ? encoder.encode(p.body) : p.body));
  const contentIds = input.parts.map((p) => p.contentId ?? generateContentId(input.cidDomain));
  let boundary = input.boundary;
  if (boundary !== undefined) {
    if (!/^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/.test(boundary)) throw new RangeError(`invalid boundary ${boundary}`);
    const dash = encoder.encode(`--${boundary}`);
    if (bodies.some((b) => contains(b, dash))) throw new RangeError("boundary occurs in a part body");
  } else {
    for (let attempt = 0; ; attempt++) {
      boundary = generateBoundary();
      const dash = encoder.encode(`--${boundary}`);
      if (!bodies.some((b) => contains(b, dash))) break;
      if (attempt > 16) throw new Error("could not find a boundary absent from the parts");
    }
  }
  const chunks: Uint8Array[] = [];
  input.parts.forEach((p, i) => {
    let head = `--${boundary}\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <${contentIds[i]}>\r\nContent-Type: ${p.contentType}\r\n`;
    for (const [name, value] of Object.entries(p.headers ?? {})) head += `${name}: ${value}\r\n`;
    chunks.push(encoder.encode(`${head}\r\n`), bodies[i], encoder.encode("\r\n"));
  });
  chunks.push(encoder.encode(`--${boundary}--\r\n`));
  const body = concat(chunks);
  const rootType = (input.type ?? input.parts[0].contentType.split(";", 1)[0]).trim();
  const contentType = [
    CONTENT_TYPES.multipartRelated,
    `type="${rootType}"`,
    `start="<${contentIds[0]}>"`,
    formatParam("boundary", boundary as string),
  ].join(";");
  return { contentType, body, text: new TextDecoder().decode(body), contentIds };
}

export interface RlsNotifyResourcePart {
  /** Content-ID the RLMI instance refers to (`cid`). */
  contentId: string;
  contentType: string;
  body: string | Uint8Array;
}

/**
 * The body of an RLS NOTIFY: RLMI root (its Content-ID is `start`) + resource parts. Every
 * `cid` used by the list's instances should have a matching part.
 */
export function composeRlsNotifyBody(list: RlmiList, parts: readonly RlsNotifyResourcePart[], options: { boundary?: string; rootContentId?: string; cidDomain?: string } = {}): ComposedMultipart {
  return composeMultipartRelated({
    type: CONTENT_TYPES.rlmi,
    boundary: options.boundary,
    cidDomain: options.cidDomain,
    parts: [
      { contentType: `${CONTENT_TYPES.rlmi};charset="UTF-8"`, contentId: options.rootContentId, body: composeRlmi(list) },
      ...parts.map((p) => ({ contentType: p.contentType, contentId: p.contentId, body: p.body })),
    ],
  });
}
