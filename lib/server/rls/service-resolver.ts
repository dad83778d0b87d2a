/**
 * Resolve an RLS service URI (RFC 4826 §4) to the flat, de-duplicated list of resources the
 * list subscription watches.
 *
 * A `<service>` holds either an inline `<list>` (entries, nested lists, `entry-ref`, `external`)
 * or a `<resource-list>` HTTP URI of a list in a resource-lists document — Blink writes
 * `…/resource-lists/users/<xui>/index/~~/resource-lists/list[@name="sipsimple_presence_rls"]`,
 * percent-encoded as a whole (`https%3A//…`). References are followed only into the service
 * owner's own tree (and the global tree): a user's list never reveals another user's documents.
 *
 * Nested lists are flattened (as Kamailio's rls does); a URI listed twice appears once, with the
 * first display name found (RFC 4662 §4.4: one resource per URI).
 */
import { parseExternalListAnchor } from "../../presence";
import { componentLogger, type SipLogger } from "../../sip";
import { childElements, parseXml, parseXmlTree, type XmlDocument, type XmlDocumentView, type XmlElement, type XmlElementView } from "../../xml";
import { decodeAnyUri } from "../../xcap/addressbook";
import { parseNodeSelector, selectElement } from "../../xcap/node-selector";
import type { XcapDocumentKey, XcapStore } from "../../xcap/server";
import { canonicalAor } from "../aor";
import { accountOwningUri, type AccountDirectory } from "../account-directory";
import { NS, AUID } from "../../presence/namespaces";

/** Nesting bound for lists, external anchors and entry-refs (cycles end here too). */
const MAX_DEPTH = 8;

export interface ListResource {
  /** Canonical `sip:user@domain` (or the decoded URI for non-SIP schemes). */
  uri: string;
  /** Display name from the list entry, if any. */
  name?: string;
}

export interface ResolvedService {
  /** The service URI as the rls-services document has it (decoded). */
  uri: string;
  /** XUI of the document's owner. */
  owner: string;
  /** Event packages the service offers (empty: any). */
  packages: string[];
  resources: ListResource[];
}

export interface ServiceResolverOptions {
  store: XcapStore;
  /**
   * Accounts: a URI that is an account's AOR, or derived from an account other than the
   * document's owner (`sip:bob+presence@…` in alice's document), is no service even if a
   * document (written before the XCAP server refused them) claims it. Default: not checked.
   */
  accounts?: AccountDirectory;
  logger?: SipLogger;
}

export class ServiceResolver {
  private readonly store: XcapStore;
  private readonly accounts?: AccountDirectory;
  private readonly log: SipLogger;

  constructor(options: ServiceResolverOptions) {
    this.store = options.store;
    this.accounts = options.accounts;
    this.log = componentLogger("presence:rls", options.logger);
  }

  /** Owner XUI of a service URI, or undefined when no rls-services document defines it (or it is an account's). */
  async ownerOf(serviceUri: string): Promise<{ owner: string; key: XcapDocumentKey } | undefined> {
    const o = await this.documentOwnerOf(serviceUri);
    return o && (await this.ownedByAccount(serviceUri, o.owner)) ? undefined : o;
  }

  /** Owner XUI of the rls-services document that claims a service URI (the store only). */
  async documentOwnerOf(serviceUri: string): Promise<{ owner: string; key: XcapDocumentKey } | undefined> {
    const candidates = [...new Set([serviceUri, decodeAnyUri(serviceUri)])];
    const found = await this.store.findServiceUriOwners(candidates);
    const hit = found.find((f) => f.key.scope === "users" && f.key.xui);
    return hit ? { owner: hit.key.xui as string, key: hit.key } : undefined;
  }

  /**
   * Whether a service URI that `owner`'s document claims belongs to an account instead: an
   * account's AOR (a SUBSCRIBE to it is for that user's presence), or derived from another account.
   */
  async ownedByAccount(serviceUri: string, owner: string): Promise<boolean> {
    if (!this.accounts) return false;
    const claim = await accountOwningUri(this.accounts, decodeAnyUri(serviceUri));
    if (!claim || (!claim.exact && claim.aor === canonicalAor(owner).toLowerCase())) return false;
    this.log("warn", "ignoring a service URI that belongs to an account", { uri: serviceUri, owner, account: claim.aor });
    return true;
  }

  /** Resolve a service; undefined when it no longer exists. */
  async resolve(serviceUri: string): Promise<ResolvedService | undefined> {
    const o = await this.ownerOf(serviceUri);
    if (!o) return undefined;
    const doc = await this.store.get(o.key);
    if (!doc) return undefined;
    const root = this.parse(doc.content, o.key);
    if (!root) return undefined;
    const wanted = decodeAnyUri(serviceUri);
    const service = childElements(root).find(
      (s) => s.namespaceURI === NS.rlsServices && s.localName === "service" && decodeAnyUri(s.getAttribute("uri")) === wanted,
    );
    if (!service) return undefined;
    const packages: string[] = [];
    const acc = new Accumulator();
    for (const k of childElements(service)) {
      if (k.namespaceURI !== NS.rlsServices) continue;
      if (k.localName === "list") await this.collectList(k, o.owner, acc, 0);
      else if (k.localName === "resource-list") await this.followListUri(k.textContent ?? "", o.owner, acc, 0);
      else if (k.localName === "packages") {
        for (const p of childElements(k)) if (p.localName === "package") packages.push((p.textContent ?? "").trim());
      }
    }
    return { uri: wanted, owner: o.owner, packages, resources: acc.list };
  }

  private parse(content: string, key: XcapDocumentKey): XmlElementView | undefined {
    try {
      // read only: the light tree (lib/xml-tree.ts)
      return parseXmlTree(content).documentElement ?? undefined;
    } catch (e) {
      this.log("warn", "unparsable document", { auid: key.auid, xui: key.xui, error: String(e) });
      return undefined;
    }
  }

  /** RFC 4826 §3.2 list content: entry, entry-ref, external, nested list (any namespace prefix). */
  private async collectList(list: XmlElementView, owner: string, acc: Accumulator, depth: number): Promise<void> {
    if (depth > MAX_DEPTH) return;
    for (const c of childElements(list)) {
      if (c.namespaceURI !== NS.resourceLists && c.namespaceURI !== NS.rlsServices) continue;
      switch (c.localName) {
        case "entry":
          acc.add(c.getAttribute("uri"), displayName(c));
          break;
        case "list":
          await this.collectList(c, owner, acc, depth + 1);
          break;
        case "external":
          await this.followListUri(c.getAttribute("anchor") ?? "", owner, acc, depth + 1);
          break;
        case "entry-ref":
          await this.followEntryRef(c.getAttribute("ref") ?? "", owner, acc, displayName(c), depth + 1);
          break;
        default:
          break;
      }
    }
  }

  /** Absolute XCAP URI of a list (`resource-list` of a service, `external` anchor). */
  private async followListUri(raw: string, owner: string, acc: Accumulator, depth: number): Promise<void> {
    const text = raw.trim();
    if (!text || depth > MAX_DEPTH) return;
    const a = parseExternalListAnchor(decodeAnyUri(text)) ?? parseExternalListAnchor(text);
    if (!a) {
      this.log("warn", "list reference is not an XCAP URI", { ref: text });
      return;
    }
    // a list by name or the whole document: read on the light tree; a node selector on xmldom's
    const target = await this.target(a.auid, a.tree, a.xui, a.document, owner, a.listName !== undefined || !a.nodeSelector ? parseXmlTree : parseXml);
    const root = target?.documentElement;
    if (!target || !root) return;
    let lists: XmlElementView[];
    if (a.listName !== undefined) {
      lists = childElements(root).filter((l) => isRl(l, "list") && l.getAttribute("name") === a.listName);
    } else if (a.nodeSelector) {
      const el = this.select(target as XmlDocument, a.nodeSelector);
      lists = el && isRl(el, "list") ? [el] : [];
    } else {
      lists = childElements(root).filter((l) => isRl(l, "list"));
    }
    for (const l of lists) await this.collectList(l, owner, acc, depth + 1);
  }

  /** RFC 4826 §3.2 entry-ref: a relative XCAP URI (from the root) of an `entry`. */
  private async followEntryRef(raw: string, owner: string, acc: Accumulator, name: string | undefined, depth: number): Promise<void> {
    const text = decodeAnyUri(raw.trim());
    if (!text || depth > MAX_DEPTH) return;
    const a = parseExternalListAnchor(/^[a-z][a-z0-9+.-]*:/i.test(text) ? text : `/${text.replace(/^\/+/, "")}`);
    if (!a || !a.nodeSelector) return;
    const target = await this.target(a.auid, a.tree, a.xui, a.document, owner, parseXml);
    if (!target) return;
    const el = this.select(target, a.nodeSelector);
    if (el && isRl(el, "entry")) acc.add(el.getAttribute("uri"), name ?? displayName(el));
  }

  /** A resource-lists document the owner may use, parsed with `parse`. */
  private async target<D extends XmlDocumentView>(
    auid: string,
    tree: "users" | "global",
    xui: string | undefined,
    document: string,
    owner: string,
    parse: (content: string) => D,
  ): Promise<D | undefined> {
    if (auid !== AUID.resourceLists) return undefined;
    let key: XcapDocumentKey;
    if (tree === "users") {
      if (!xui || canonicalAor(xui) !== canonicalAor(owner)) {
        this.log("info", "ignoring a list reference into another user's tree", { owner, xui });
        return undefined;
      }
      key = { auid, scope: "users", xui: owner, docPath: document };
    } else key = { auid, scope: "global", xui: null, docPath: document };
    const doc = await this.store.get(key);
    if (!doc) return undefined;
    try {
      return parse(doc.content);
    } catch (e) {
      this.log("warn", "unparsable resource-lists", { owner, error: String(e) });
      return undefined;
    }
  }

  private select(doc: XmlDocument, selector: string): XmlElement | undefined {
    try {
      // the text after `~~` starts with "/" (RFC 4825 §6: `~~/resource-lists/...`)
      const sel = parseNodeSelector(selector.replace(/^\/+/, ""));
      if (sel.terminal) return undefined;
      const r = selectElement(doc, sel.steps, { bindings: new Map(), defaultNamespace: NS.resourceLists });
      return r.kind === "found" ? r.element : undefined;
    } catch (e) {
      this.log("warn", "unusable node selector in a list reference", { selector, error: String(e) });
      return undefined;
    }
  }
}

class Accumulator {
  readonly list: ListResource[] = [];
  private readonly seen = new Set<string>();

  add(rawUri: string | null, name: string | undefined): void {
    if (!rawUri) return;
    const uri = canonicalAor(decodeAnyUri(rawUri));
    if (this.seen.has(uri)) return;
    this.seen.add(uri);
    this.list.push(name ? { uri, name } : { uri });
  }
}

function isRl(el: XmlElementView, local: string): boolean {
  return el.namespaceURI === NS.resourceLists && el.localName === local;
}

function displayName(el: XmlElementView): string | undefined {
  const d = childElements(el).find((c) => c.localName === "display-name");
  const t = d?.textContent?.trim();
  return t ? t : undefined;
}
