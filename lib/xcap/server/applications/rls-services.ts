/** rls-services application usage (RFC 4826 §4): service URIs are unique across all users. */
import type { XmlElement } from "../../../xml";
import { XcapConflict, constraintError, schemaError } from "../../errors";
import type { XcapStore } from "../store";
import type { XcapDocumentKey } from "../../uri";
import type { ApplicationUsage } from "../application-usage";
import { checkAttributes, checkContent, decodeQuotedUri, expectRoot, isAbsoluteUri, isHttpUri, textOnly } from "../validation";
import { RESOURCE_LISTS_NS, validateListType } from "./resource-lists";

export const RLS_SERVICES_NS = "urn:ietf:params:xml:ns:rls-services";
export const SERVICE_URI_FIELD = "rls-services/service/@uri";

function sameKey(a: XcapDocumentKey, b: XcapDocumentKey): boolean {
  return a.auid === b.auid && a.scope === b.scope && a.xui === b.xui && a.docPath === b.docPath;
}

/** Suggest free service URIs: `sip:alice+presence@d` → `sip:alice+presence-2@d`, … (RFC 4826 §4.4.7). */
export async function suggestServiceUris(uri: string, store: XcapStore, taken: ReadonlySet<string>, count = 1): Promise<string[]> {
  const at = uri.lastIndexOf("@");
  const head = at >= 0 ? uri.slice(0, at) : uri;
  const tail = at >= 0 ? uri.slice(at) : "";
  const candidates: string[] = [];
  for (let n = 2; n < 2 + 20; n++) candidates.push(`${head}-${n}${tail}`);
  const owners = new Set((await store.findServiceUriOwners(candidates)).map((o) => o.uri));
  return candidates.filter((c) => !owners.has(c) && !taken.has(c)).slice(0, count);
}

export async function serviceUriConflict(uris: string[], store: XcapStore, inDocument: ReadonlySet<string>): Promise<XcapConflict> {
  const exists = [];
  for (const u of uris) exists.push({ field: SERVICE_URI_FIELD, altValues: await suggestServiceUris(u, store, inDocument) });
  return new XcapConflict("uniqueness-failure", `service URI already in use: ${uris.join(", ")}`, { exists });
}

function validateService(svc: XmlElement): string {
  checkAttributes(svc, ["uri"], ["uri"]);
  // stored decoded: Blink writes `sip%3Aalice%2Bpresence%40…`, the RLS looks up `sip:alice+presence@…`
  const uri = decodeQuotedUri(svc.getAttribute("uri")!.trim());
  if (!isAbsoluteUri(uri)) throw schemaError(`service uri "${uri}" is not an absolute URI`);
  const kids = checkContent(svc, RLS_SERVICES_NS, { "resource-list": "R", list: "L", packages: "P" }, /^[RL]P?O*$/);
  for (const k of kids) {
    if (k.namespaceURI !== RLS_SERVICES_NS) continue;
    if (k.localName === "resource-list") {
      const target = textOnly(k).trim();
      // §4.3: an HTTP URI of a list in a resource-lists document
      if (!isHttpUri(target)) throw constraintError(`resource-list "${target}" is not an HTTP URI`);
    } else if (k.localName === "list") {
      validateListType(k, `rls-services/service[@uri="${uri}"]/list`);
    } else if (k.localName === "packages") {
      for (const p of checkContent(k, RLS_SERVICES_NS, { package: "P" }, /^(PO*)*$/)) {
        if (p.namespaceURI === RLS_SERVICES_NS && !/^[A-Za-z0-9!%'*+\-.^_`|~]+$/.test(textOnly(p).trim())) {
          throw schemaError(`bad event package "${p.textContent}"`);
        }
      }
    }
  }
  return uri;
}

export const rlsServicesApplication: ApplicationUsage = {
  auid: "rls-services",
  defaultNamespace: RLS_SERVICES_NS,
  mimeType: "application/rls-services+xml",
  namespaces: [RLS_SERVICES_NS, RESOURCE_LISTS_NS],
  scopes: ["users"],
  async validate(doc, ctx) {
    const root = expectRoot(doc, RLS_SERVICES_NS, "rls-services");
    checkAttributes(root, []);
    const services = checkContent(root, RLS_SERVICES_NS, { service: "S" }, /^S*$/);
    const uris = new Set<string>();
    for (const s of services) {
      const uri = validateService(s);
      if (uris.has(uri)) throw await serviceUriConflict([uri], ctx.store, uris);
      uris.add(uri);
    }
    const list = [...uris];
    const owners = await ctx.store.findServiceUriOwners(list);
    const taken = owners.filter((o) => !sameKey(o.key, ctx.key)).map((o) => o.uri);
    if (taken.length > 0) throw await serviceUriConflict(taken, ctx.store, uris);
    return { serviceUris: list };
  },
};
