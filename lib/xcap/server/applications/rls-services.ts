/** rls-services application usage (RFC 4826 §4): service URIs are unique across all users. */
import type { XmlElementView } from "../../../xml";
import { XcapConflict, constraintError, schemaError } from "../../errors";
import type { XcapDocumentKey } from "../../uri";
import type { ApplicationContext, ApplicationUsage } from "../application-usage";
import { checkAttributes, checkContent, decodeQuotedUri, expectRoot, isAbsoluteUri, isHttpUri, textOnly } from "../validation";
import { validateListType } from "./resource-lists";
import { AUID, CONTENT_TYPES, NS } from "../../../presence/namespaces";

export const SERVICE_URI_FIELD = "rls-services/service/@uri";

function sameKey(a: XcapDocumentKey, b: XcapDocumentKey): boolean {
  return a.auid === b.auid && a.scope === b.scope && a.xui === b.xui && a.docPath === b.docPath;
}

/** What the uniqueness checks need of the request's context. */
type UniquenessContext = Pick<ApplicationContext, "store" | "isUriTaken"> & { key?: XcapDocumentKey };

/**
 * Suggest free service URIs (RFC 4826 §4.4.7): for a URI the owner may not have, first one
 * derived from the owner (`sip:bob@d` → `sip:alice+bob@d`), then `sip:alice+presence@d` →
 * `sip:alice+presence-2@d`, … — each free in the store and not taken.
 */
export async function suggestServiceUris(uri: string, ctx: UniquenessContext, taken: ReadonlySet<string>, count = 1): Promise<string[]> {
  const at = uri.lastIndexOf("@");
  const head = at >= 0 ? uri.slice(0, at) : uri;
  const tail = at >= 0 ? uri.slice(at) : "";
  const candidates: string[] = [];
  const owner = ctx.key?.xui ? /^sips?:([^@]+)@/i.exec(ctx.key.xui)?.[1] : undefined;
  const user = /^sips?:([^@]+)@/i.exec(uri)?.[1];
  if (owner && user && at >= 0 && !user.toLowerCase().startsWith(`${owner.toLowerCase()}+`)) {
    candidates.push(`sip:${owner}+${user.replace(/\+/g, "-")}${tail}`);
  }
  for (let n = 2; n < 2 + 20; n++) candidates.push(`${head}-${n}${tail}`);
  const owners = new Set((await ctx.store.findServiceUriOwners(candidates)).map((o) => o.uri));
  const out: string[] = [];
  for (const c of candidates) {
    if (out.length >= count) break;
    if (owners.has(c) || taken.has(c) || (await ctx.isUriTaken?.(c))) continue;
    out.push(c);
  }
  return out;
}

export async function serviceUriConflict(uris: string[], ctx: UniquenessContext, inDocument: ReadonlySet<string>): Promise<XcapConflict> {
  const exists = [];
  for (const u of uris) exists.push({ field: SERVICE_URI_FIELD, altValues: await suggestServiceUris(u, ctx, inDocument) });
  return new XcapConflict("uniqueness-failure", `service URI already in use: ${uris.join(", ")}`, { exists });
}

function validateService(svc: XmlElementView): string {
  checkAttributes(svc, ["uri"], ["uri"]);
  // stored decoded: Blink writes `sip%3Aalice%2Bpresence%40…`, the RLS looks up `sip:alice+presence@…`
  const uri = decodeQuotedUri(svc.getAttribute("uri")!.trim());
  if (!isAbsoluteUri(uri)) throw schemaError(`service uri "${uri}" is not an absolute URI`);
  const kids = checkContent(svc, NS.rlsServices, { "resource-list": "R", list: "L", packages: "P" }, /^[RL]P?O*$/);
  for (const k of kids) {
    if (k.namespaceURI !== NS.rlsServices) continue;
    if (k.localName === "resource-list") {
      const target = textOnly(k).trim();
      // §4.3: an HTTP URI of a list in a resource-lists document
      if (!isHttpUri(target)) throw constraintError(`resource-list "${target}" is not an HTTP URI`);
    } else if (k.localName === "list") {
      validateListType(k, `rls-services/service[@uri="${uri}"]/list`);
    } else if (k.localName === "packages") {
      for (const p of checkContent(k, NS.rlsServices, { package: "P" }, /^(PO*)*$/)) {
        if (p.namespaceURI === NS.rlsServices && !/^[A-Za-z0-9!%'*+\-.^_`|~]+$/.test(textOnly(p).trim())) {
          throw schemaError(`bad event package "${p.textContent}"`);
        }
      }
    }
  }
  return uri;
}

export const rlsServicesApplication: ApplicationUsage = {
  auid: AUID.rlsServices,
  defaultNamespace: NS.rlsServices,
  mimeType: CONTENT_TYPES.rlsServices,
  namespaces: [NS.rlsServices, NS.resourceLists],
  scopes: ["users"],
  async validate(doc, ctx) {
    const root = expectRoot(doc, NS.rlsServices, "rls-services");
    checkAttributes(root, []);
    const services = checkContent(root, NS.rlsServices, { service: "S" }, /^S*$/);
    const uris = new Set<string>();
    for (const s of services) {
      const uri = validateService(s);
      if (uris.has(uri)) throw await serviceUriConflict([uri], ctx, uris);
      uris.add(uri);
    }
    const list = [...uris];
    // an account's AOR (or a URI derived from another account) is never a service URI: the RLS
    // would take SUBSCRIBEs meant for that user's presence
    if (ctx.isUriTaken) {
      const reserved: string[] = [];
      for (const u of list) if (await ctx.isUriTaken(u)) reserved.push(u);
      if (reserved.length > 0) throw await serviceUriConflict(reserved, ctx, uris);
    }
    const owners = await ctx.store.findServiceUriOwners(list);
    const taken: string[] = [];
    const reclaim: string[] = [];
    for (const o of owners) {
      if (sameKey(o.key, ctx.key)) continue;
      // held by a document stored before such claims were refused, though it is not its owner's
      // (`sip:bob+presence@…` in alice's): it moves to its rightful owner's document
      if (ctx.isUriTaken && o.key.xui && (await ctx.isUriTaken(o.uri, o.key.xui))) reclaim.push(o.uri);
      else taken.push(o.uri);
    }
    if (taken.length > 0) throw await serviceUriConflict(taken, ctx, uris);
    return reclaim.length > 0 ? { serviceUris: list, reclaimServiceUris: reclaim } : { serviceUris: list };
  },
};
