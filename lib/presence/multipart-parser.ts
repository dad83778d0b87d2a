/**
 * Parse a `multipart/related` body (RFC 2046 §5.1, RFC 2387) such as an RLS NOTIFY (RFC 4662 §5):
 * the root RLMI document and the resource parts by Content-ID.
 *
 * Works on bytes (no streaming), accepts CRLF or bare LF line ends (also mixed), ignores the
 * preamble and epilogue, transport padding after delimiters and folded part headers; nested
 * multipart parts are parsed recursively up to `maxDepth`. Sizes and counts are bounded.
 * Anything malformed gives a PresencePayloadError (status 400; 415 for a non-multipart type),
 * never an unchecked exception.
 */
import { PresencePayloadError } from "./errors";
import { parseMediaType, type MediaType } from "./media-type";
import type { MimePart, MultipartRelated } from "./multipart-related";
import { parseRlmi } from "./rlmi-parser";
import { CONTENT_TYPES } from "./namespaces";

export interface ParseMultipartOptions {
  /** Maximum body size in bytes (default 8 MiB). */
  maxBytes?: number;
  /** Maximum number of parts per level (default 5000). */
  maxParts?: number;
  /** Maximum nesting depth (default 4). */
  maxDepth?: number;
  /** Maximum size of one part's header block (default 16 KiB). */
  maxHeaderBytes?: number;
}

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  const last = hay.length - needle.length;
  outer: for (let i = from; i <= last; i++) {
    if (hay[i] !== first) continue;
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

interface Delimiter {
  /** Where the line break before the delimiter starts (end of the previous part's content). */
  contentEnd: number;
  /** Index just past the delimiter line (start of the next part). */
  next: number;
  close: boolean;
}

/** Find the next delimiter line ("--boundary" at a line start) at or after `from`. */
function findDelimiter(body: Uint8Array, dash: Uint8Array, from: number): Delimiter | undefined {
  let pos = from;
  for (;;) {
    const i = indexOf(body, dash, pos);
    if (i < 0) return undefined;
    const atLineStart = i === 0 || body[i - 1] === 0x0a;
    if (atLineStart) {
      let contentEnd = i;
      if (i > 0) {
        contentEnd = i - 1; // the LF
        if (contentEnd > 0 && body[contentEnd - 1] === 0x0d) contentEnd--; // the CR
      }
      let j = i + dash.length;
      let close = false;
      if (body[j] === 0x2d && body[j + 1] === 0x2d) {
        close = true;
        j += 2;
      }
      // transport padding (RFC 2046 §5.1.1)
      while (j < body.length && (body[j] === 0x20 || body[j] === 0x09)) j++;
      if (j >= body.length) return { contentEnd, next: j, close };
      if (body[j] === 0x0d && body[j + 1] === 0x0a) return { contentEnd, next: j + 2, close };
      if (body[j] === 0x0a) return { contentEnd, next: j + 1, close };
      // "--boundaryX": a longer string that only starts like our boundary; keep looking
    }
    pos = i + 1;
  }
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  let current: string | undefined;
  for (const raw of block.split(/\r?\n/)) {
    if (raw === "") continue;
    if ((raw[0] === " " || raw[0] === "\t") && current) {
      headers.set(current, `${headers.get(current)} ${raw.trim()}`.trim());
      continue;
    }
    const colon = raw.indexOf(":");
    if (colon <= 0) throw new PresencePayloadError("malformed-multipart", `malformed part header line: ${raw.slice(0, 80)}`);
    current = raw.slice(0, colon).trim().toLowerCase();
    headers.set(current, raw.slice(colon + 1).trim());
  }
  return headers;
}

function decodeBase64(data: Uint8Array): Uint8Array {
  const text = latin1.decode(data).replace(/[\s]/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new PresencePayloadError("malformed-multipart", "invalid base64 part body");
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function parsePart(raw: Uint8Array, options: Required<ParseMultipartOptions>, depth: number): MimePart {
  // header block ends at the first empty line (CRLFCRLF, LFLF or mixed); a part may have no headers
  let headerEnd = -1;
  let bodyStart = 0;
  if (raw[0] === 0x0a) bodyStart = 1;
  else if (raw[0] === 0x0d && raw[1] === 0x0a) bodyStart = 2;
  else {
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] !== 0x0a) continue;
      let j = i + 1;
      if (raw[j] === 0x0d) j++;
      if (raw[j] === 0x0a) {
        headerEnd = raw[i - 1] === 0x0d ? i - 1 : i;
        bodyStart = j + 1;
        break;
      }
      if (i > options.maxHeaderBytes) break;
    }
    if (headerEnd < 0) {
      if (raw.length > options.maxHeaderBytes) throw new PresencePayloadError("too-large", "part header block too large");
      // headers only, empty body
      headerEnd = raw.length;
      bodyStart = raw.length;
    }
    if (headerEnd > options.maxHeaderBytes) throw new PresencePayloadError("too-large", "part header block too large");
  }
  const headers = headerEnd > 0 ? parseHeaders(utf8.decode(raw.subarray(0, headerEnd))) : new Map<string, string>();
  const contentType = headers.get("content-type") ?? CONTENT_TYPES.text;
  const mediaType: MediaType = parseMediaType(contentType);
  let body: Uint8Array = raw.slice(bodyStart);
  const cte = (headers.get("content-transfer-encoding") ?? "binary").toLowerCase();
  if (cte === "base64") body = decodeBase64(body);
  const part: MimePart = { headers, contentType, mediaType, body };
  const cid = headers.get("content-id");
  if (cid) part.contentId = cid.replace(/^<|>$/g, "");
  if (mediaType.mime.startsWith("multipart/")) {
    if (depth >= options.maxDepth) throw new PresencePayloadError("too-deep", `multipart nesting deeper than ${options.maxDepth}`);
    part.multipart = parseLevel(mediaType, body, options, depth + 1);
  }
  return part;
}

function parseLevel(mediaType: MediaType, body: Uint8Array, options: Required<ParseMultipartOptions>, depth: number): MultipartRelated {
  if (!mediaType.mime.startsWith("multipart/")) {
    throw new PresencePayloadError("bad-content-type", `expected multipart/related, got ${mediaType.mime}`);
  }
  const boundary = mediaType.params.boundary;
  if (!boundary) throw new PresencePayloadError("missing-boundary", "multipart Content-Type without boundary");
  if (boundary.length > 70) throw new PresencePayloadError("malformed-multipart", "boundary longer than 70 characters (RFC 2046)");
  const dash = encoder.encode(`--${boundary}`);
  const first = findDelimiter(body, dash, 0);
  if (!first) throw new PresencePayloadError("malformed-multipart", "no boundary delimiter in body");
  if (first.close) throw new PresencePayloadError("malformed-multipart", "multipart body without any part");
  const parts: MimePart[] = [];
  let cursor = first;
  for (;;) {
    const next = findDelimiter(body, dash, cursor.next);
    if (!next) throw new PresencePayloadError("malformed-multipart", "missing close delimiter (truncated body?)");
    if (parts.length >= options.maxParts) throw new PresencePayloadError("too-large", `more than ${options.maxParts} parts`);
    const end = Math.max(cursor.next, next.contentEnd);
    parts.push(parsePart(body.subarray(cursor.next, end), options, depth));
    if (next.close) break; // anything after is the epilogue
    cursor = next;
  }
  const byContentId = new Map<string, MimePart>();
  for (const p of parts) if (p.contentId && !byContentId.has(p.contentId)) byContentId.set(p.contentId, p);
  const start = mediaType.params.start?.replace(/^<|>$/g, "");
  let root = parts[0];
  if (start) {
    const found = byContentId.get(start);
    if (!found) throw new PresencePayloadError("missing-root-part", `no part with Content-ID <${start}> (start parameter)`);
    root = found;
  }
  const result: MultipartRelated = { boundary, root, parts, byContentId };
  if (mediaType.params.type) result.type = mediaType.params.type.toLowerCase();
  if (start) result.start = start;
  if (root.mediaType.mime === CONTENT_TYPES.rlmi) result.rlmi = parseRlmi(root.body);
  return result;
}

/**
 * Parse a multipart/related body given its Content-Type header value.
 * Throws PresencePayloadError: bad-content-type (415), missing-boundary, malformed-multipart,
 * missing-root-part, too-large, too-deep, or the RLMI parser's codes for a bad root document.
 */
export function parseMultipartRelated(
  contentTypeHeader: string,
  body: Uint8Array | string,
  options: ParseMultipartOptions = {},
): MultipartRelated {
  const opts: Required<ParseMultipartOptions> = {
    maxBytes: options.maxBytes ?? 8 * 1024 * 1024,
    maxParts: options.maxParts ?? 5000,
    maxDepth: options.maxDepth ?? 4,
    maxHeaderBytes: options.maxHeaderBytes ?? 16 * 1024,
  };
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  if (bytes.length > opts.maxBytes) throw new PresencePayloadError("too-large", `multipart body larger than ${opts.maxBytes} bytes`);
  return parseLevel(parseMediaType(contentTypeHeader), bytes, opts, 0);
}
