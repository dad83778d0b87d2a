/**
 * What the portal's server actions do, on top of lib/xcap: the Blink-compatible address book,
 * the offline status (pidf-manipulation) and the icon (OMA pres-content). Every change is an XCAP
 * write — to Herald's embedded root in-process, or to an operator's XCAP server over HTTP with
 * the account's HA1 — so the portal keeps no second copy of this data.
 */
import "server-only";
import { config } from "../config";
import { db } from "../db";
import { XcapClient, XcapClientError, type FetchFn } from "../xcap/client";
import { AddressBook, type AddressBookSnapshot } from "../xcap/addressbook";
import { diffEtag, documentSelector } from "../xcap/diff";
import { composePidf, iconUrlWithHash, offlineStatusOf, parsePidfManipulation, permanentNoteOf, withPermanentNote } from "../presence";
import { escapeXml, parseXml } from "../xml";
import { decodePresContent, DEFAULT_MAX_ICON_BYTES, sniffImageType, STATUS_ICON_DOCUMENT } from "../xcap/server";
import { xcapHttp } from "./xcap";
import { publicXcapRootOf } from "./public-xcap-root";
import { NS, AUID, CONTENT_TYPES } from "../presence/namespaces";

export const MAX_ICON_BYTES = DEFAULT_MAX_ICON_BYTES;

/** Public XCAP root: what is written into documents and what Blink clients are configured with. */
export function publicXcapRoot(): string {
  return publicXcapRootOf(config());
}

/** An XCAP client acting as this user (address user@domain). */
export async function xcapClientFor(address: string): Promise<XcapClient> {
  const c = config();
  const xui = `sip:${address}`;
  if (c.XCAP_SERVER_URL) {
    const acc = await db().account.findUniqueOrThrow({ where: { address } });
    return new XcapClient({ root: c.XCAP_SERVER_URL, xui, auth: { username: acc.username, ha1: acc.ha1 }, wildcard: '"*"' });
  }
  const inProcess: FetchFn = (url, init) => xcapHttp().handleAs(new Request(url, init), address);
  return new XcapClient({ root: publicXcapRoot(), xui, fetch: inProcess });
}

export async function addressBookFor(address: string): Promise<AddressBook> {
  return new AddressBook({ client: await xcapClientFor(address), xcapRoot: publicXcapRoot(), identityRules: config().XCAP_IDENTITY_RULES });
}

export interface OfflineStatus {
  note: string | null;
  /** Set when an offline status document exists. */
  set: boolean;
}

/** The offline status: what watchers see while none of the user's devices publishes. */
export async function getOfflineStatus(address: string): Promise<OfflineStatus> {
  const client = await xcapClientFor(address);
  const doc = await client.getDocument(AUID.pidfManipulation, "index");
  if (!doc) return { note: null, set: false };
  const s = offlineStatusOf(parsePidfManipulation(doc.xml));
  return { note: s.note ?? null, set: s.set };
}

/**
 * Write the pidf-manipulation document through `change` (what it is now → what it should be,
 * null: delete it), conditional on the version read so that a concurrent write is never lost.
 */
async function changeManipulation(address: string, change: (xml: string | undefined) => string | null): Promise<void> {
  const client = await xcapClientFor(address);
  for (let attempt = 0; ; attempt++) {
    const doc = await client.getDocument(AUID.pidfManipulation, "index");
    const next = change(doc?.xml);
    try {
      if (next === null) {
        if (doc) await client.deleteDocument(AUID.pidfManipulation, "index", doc.etag ? { ifMatch: doc.etag } : {});
      } else {
        await client.putDocument(AUID.pidfManipulation, "index", next, { contentType: CONTENT_TYPES.pidf, ...(doc?.etag ? { ifMatch: doc.etag } : doc ? {} : { ifNoneMatch: "*" }) });
      }
      return;
    } catch (err) {
      if (!(err instanceof XcapClientError && err.isPreconditionFailed) || attempt >= 4) throw err;
    }
  }
}

/** The offline status (Blink's layout); the permanent status in the same document stays. */
export async function setOfflineStatus(address: string, note: string): Promise<void> {
  const entity = `sip:${address}`;
  const offline = composePidf({
    entity,
    basic: "closed",
    extended: "offline",
    note: note || undefined,
    tupleId: "offline_status_tuple",
    personId: "offline_status",
  });
  await changeManipulation(address, (xml) => withPermanentNote(offline, entity, xml ? (permanentNoteOf(parsePidfManipulation(xml)) ?? null) : null));
}

export async function clearOfflineStatus(address: string): Promise<void> {
  const entity = `sip:${address}`;
  await changeManipulation(address, (xml) => (xml ? withPermanentNote(undefined, entity, permanentNoteOf(parsePidfManipulation(xml)) ?? null) : null));
}

/**
 * The permanent status an operator set for the user ("On leave until 3 January"): the
 * presence-level note of the pidf-manipulation document, which every watcher sees whether or not
 * a device publishes. Null when there is none.
 */
export async function getPermanentStatus(address: string): Promise<string | null> {
  const client = await xcapClientFor(address);
  const doc = await client.getDocument(AUID.pidfManipulation, "index");
  return doc ? (permanentNoteOf(parsePidfManipulation(doc.xml)) ?? null) : null;
}

/** Set (or, with null or blank, clear) the permanent status; the offline status stays. */
export async function setPermanentStatus(address: string, status: string | null): Promise<void> {
  await changeManipulation(address, (xml) => withPermanentNote(xml, `sip:${address}`, status));
}

export class IconError extends Error {
  constructor(
    readonly code: "too-large" | "not-an-image" | "empty",
    message: string,
  ) {
    super(message);
  }
}

/** Store the icon (OMA pres-content); the type comes from the bytes, not from the file name. */
export async function setIcon(address: string, bytes: Uint8Array): Promise<{ mimeType: string; url: string }> {
  if (!bytes.byteLength) throw new IconError("empty", "The file is empty.");
  if (bytes.byteLength > MAX_ICON_BYTES) throw new IconError("too-large", `The picture is larger than ${MAX_ICON_BYTES / 1024} KiB.`);
  const mimeType = sniffImageType(bytes);
  if (!mimeType) throw new IconError("not-an-image", "Only PNG, JPEG and GIF pictures are accepted.");
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>\n<content xmlns="${NS.presContent}">` +
    `<mime-type>${escapeXml(mimeType)}</mime-type><encoding>base64</encoding>` +
    `<data>${Buffer.from(bytes).toString("base64")}</data></content>`;
  const client = await xcapClientFor(address);
  await client.putDocument(AUID.presContent, STATUS_ICON_DOCUMENT, xml, { contentType: CONTENT_TYPES.presContent });
  return { mimeType, url: iconUrl(address) };
}

export async function removeIcon(address: string): Promise<void> {
  const client = await xcapClientFor(address);
  await client.deleteDocument(AUID.presContent, STATUS_ICON_DOCUMENT);
}

/** The stable URL of a user's icon document (Blink fetches it there). */
export function iconUrl(address: string): string {
  return `${publicXcapRoot()}/${AUID.presContent}/users/sip:${address}/${STATUS_ICON_DOCUMENT}`;
}

export interface StoredIcon {
  /** The URL to publish: iconUrl(address) hash-tagged with the picture's SHA-1 (Blink's form). */
  publishedUrl: string;
  mimeType: string;
  /** data: URL of the picture (for a preview). */
  dataUrl: string;
}

/** The user's stored icon, or null when there is none (or it cannot be decoded). */
export async function getIcon(address: string): Promise<StoredIcon | null> {
  const client = await xcapClientFor(address);
  const doc = await client.getDocument(AUID.presContent, STATUS_ICON_DOCUMENT);
  if (!doc) return null;
  try {
    const icon = decodePresContent(parseXml(doc.xml), MAX_ICON_BYTES);
    return {
      publishedUrl: iconUrlWithHash(iconUrl(address), icon.data),
      mimeType: icon.mimeType,
      dataUrl: `data:${icon.mimeType};base64,${Buffer.from(icon.data).toString("base64")}`,
    };
  } catch (err) {
    process.emitWarning(`stored icon of ${address} is not readable: ${(err as Error).message}`);
    return null;
  }
}

/** The address-book documents a page was rendered from, as xcap-diff names them (document selector → ETag without quotes; absent documents left out). */
export function renderedAddressBook(address: string, etags: AddressBookSnapshot["etags"]): Record<string, string> {
  const out: Record<string, string> = {};
  const docs: Array<[string, string | null]> = [
    [AUID.resourceLists, etags.resourceLists],
    [AUID.rlsServices, etags.rlsServices],
    [AUID.presRules, etags.presRules],
  ];
  for (const [auid, etag] of docs) if (etag) out[documentSelector({ auid, scope: "users", xui: `sip:${address}`, docPath: "index" })] = diffEtag(etag);
  return out;
}
