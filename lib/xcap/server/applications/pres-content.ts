/**
 * OMA pres-content (`org.openmobilealliance.pres-content`): the status icon, base64 in
 * `<content><mime-type/><encoding/><data/></content>`. The declared image type is checked
 * against the decoded bytes' magic number and the decoded size is bounded. Anyone may read it
 * (watchers fetch the icon a CIPID `icon` URL points at).
 */
import type { XmlDocumentView } from "../../../xml";
import { firstChildNS, parseXml } from "../../../xml";
import { constraintError, schemaError } from "../../errors";
import type { ApplicationUsage } from "../application-usage";
import { checkContent, expectRoot, textOnly } from "../validation";
import type { XcapStore } from "../store";
import { canonicalAor } from "../../../sip/aor";
import { NS, AUID, CONTENT_TYPES } from "../../../presence/namespaces";

/** Where Blink and OMA clients keep the status icon. */
export const STATUS_ICON_DOCUMENT = "oma_status-icon/index";
export const DEFAULT_MAX_ICON_BYTES = 256 * 1024;

export type IconMimeType = "image/png" | "image/jpeg" | "image/gif";

/** The image type the bytes' magic number says, or null. */
export function sniffImageType(bytes: Uint8Array): IconMimeType | null {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return "image/png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38 && (b[4] === 0x37 || b[4] === 0x39) && b[5] === 0x61) return "image/gif";
  return null;
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 decode (whitespace ignored); undefined when malformed or larger than maxBytes. */
export function decodeBase64(text: string, maxBytes: number): Uint8Array | undefined {
  const s = text.replace(/[\t\n\r ]+/g, "");
  if (s.length % 4 !== 0 || !BASE64_RE.test(s)) return undefined;
  if ((s.length / 4) * 3 > maxBytes + 2) return undefined;
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    return undefined;
  }
  if (bin.length > maxBytes) return undefined;
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export interface PresContentIcon {
  mimeType: IconMimeType;
  data: Uint8Array;
  description?: string;
}

/** Validate and decode a pres-content document. Throws XcapConflict. */
export function decodePresContent(doc: XmlDocumentView, maxIconBytes = DEFAULT_MAX_ICON_BYTES): PresContentIcon {
  const root = expectRoot(doc, NS.presContent, "content");
  const kids = checkContent(
    root,
    NS.presContent,
    { "mime-type": "M", encoding: "E", description: "D", data: "A" },
    /^M?E?D*AO*$/,
  );
  let mime: string | undefined;
  let encoding: string | undefined;
  let data: string | undefined;
  let description: string | undefined;
  for (const k of kids) {
    if (k.namespaceURI !== NS.presContent) continue;
    const v = textOnly(k).trim();
    if (k.localName === "mime-type") mime = v.toLowerCase();
    else if (k.localName === "encoding") encoding = v.toLowerCase();
    else if (k.localName === "description") description ??= v;
    else data = v;
  }
  if (encoding !== undefined && encoding !== "base64") throw constraintError(`unsupported encoding "${encoding}"`);
  const bytes = decodeBase64(data ?? "", maxIconBytes);
  if (!bytes) throw constraintError(`data is not base64 or larger than ${maxIconBytes} bytes decoded`);
  const sniffed = sniffImageType(bytes);
  if (!sniffed) throw constraintError("data is not a PNG, JPEG or GIF image");
  if (mime !== undefined) {
    const declared = mime === "image/jpg" ? "image/jpeg" : mime;
    if (declared !== "image/png" && declared !== "image/jpeg" && declared !== "image/gif") {
      throw constraintError(`mime-type "${mime}" is not image/png, image/jpeg or image/gif`);
    }
    if (declared !== sniffed) throw constraintError(`mime-type "${mime}" does not match the data (${sniffed})`);
  }
  return { mimeType: sniffed, data: bytes, ...(description ? { description } : {}) };
}

export function createPresContentApplication(maxIconBytes = DEFAULT_MAX_ICON_BYTES): ApplicationUsage {
  return {
    auid: AUID.presContent,
    defaultNamespace: NS.presContent,
    mimeType: CONTENT_TYPES.presContent,
    namespaces: [NS.presContent],
    scopes: ["users"],
    publicRead: true,
    validate(doc) {
      decodePresContent(doc, maxIconBytes);
    },
  };
}

export const presContentApplication: ApplicationUsage = createPresContentApplication();

/** The decoded icon of a user (null when there is none), with the document's ETag. */
export async function getPresContentIcon(
  store: XcapStore,
  xui: string,
  docPath = STATUS_ICON_DOCUMENT,
): Promise<(PresContentIcon & { etag: string }) | null> {
  const stored = await store.get({ auid: AUID.presContent, scope: "users", xui: canonicalAor(xui), docPath });
  if (!stored) return null;
  const doc = parseXml(stored.content, { maxBytes: 16 * 1024 * 1024 });
  if (!firstChildNS(doc, NS.presContent, "content")) throw schemaError("stored pres-content has no content root");
  return { ...decodePresContent(doc, Number.MAX_SAFE_INTEGER), etag: stored.etag };
}

/**
 * Serve the decoded icon as an image response (for an `<img src>` URL), honouring
 * If-None-Match. Readable without authentication.
 */
export async function servePresContentIcon(
  store: XcapStore,
  xui: string,
  headers: Record<string, string | undefined> = {},
  docPath = STATUS_ICON_DOCUMENT,
): Promise<{ status: number; headers: Record<string, string>; body: Uint8Array }> {
  const icon = await getPresContentIcon(store, xui, docPath);
  if (!icon) return { status: 404, headers: {}, body: new Uint8Array() };
  const etag = `"${icon.etag}"`;
  const inm = headers["if-none-match"];
  if (inm && (inm.trim() === "*" || inm.split(",").some((t) => t.trim().replace(/^W\//, "") === etag))) {
    return { status: 304, headers: { etag }, body: new Uint8Array() };
  }
  return {
    status: 200,
    headers: { "content-type": icon.mimeType, etag, "cache-control": "no-cache", "x-content-type-options": "nosniff" },
    body: icon.data,
  };
}
