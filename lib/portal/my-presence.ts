/**
 * What My Presence shows from the user's XCAP documents: offline status (pidf-manipulation), icon
 * (OMA pres-content), the default policy and the blocked addresses (pres-rules), the names of the
 * people in the address book (resource-lists) and who may message them (im-rules, only where the
 * embedded server reads it). One loader for the page's first render and for the server action
 * the open page calls when xcap-diff says one of these documents changed elsewhere.
 */
import "server-only";
import { config } from "../config";
import type { MyPresenceDocuments } from "./wire-types";
import { getImPolicy } from "./instant-messages";
import { addressBookFor, getIcon, getOfflineStatus } from "./presence-documents";

/** im-rules are Herald's own usage, read by the embedded server: an operator's SIP and XCAP servers (Kamailio, OpenSIPS) know neither the document nor the setting. */
export function imRulesServed(): boolean {
  const c = config();
  return c.SIP_EMBEDDED && !c.XCAP_SERVER_URL;
}

export async function loadMyPresenceDocuments(address: string): Promise<MyPresenceDocuments> {
  const [book, offline, icon, imPolicy] = await Promise.all([
    addressBookFor(address).then((b) => b.load()),
    getOfflineStatus(address),
    getIcon(address),
    imRulesServed() ? getImPolicy(address) : null,
  ]);
  const names: Record<string, string> = {};
  for (const p of book.policies) if (p.name) names[p.uri] = p.name;
  for (const ct of book.contacts) for (const u of ct.uris) if (ct.name) names[u.uri] = ct.name;
  return { offline, iconDataUrl: icon?.dataUrl ?? null, iconPublishedUrl: icon?.publishedUrl ?? null, defaultPolicy: book.defaultPolicy, blocked: book.presence.blocked, names, imPolicy };
}
