/**
 * Reads a presentity's XCAP documents for the presence agent: pres-rules (RFC 5025, both the OMA
 * auid `org.openmobilealliance.pres-rules` that Blink writes and the IETF `pres-rules` auid),
 * the resource lists their OMA external-list conditions point at, and pidf-manipulation
 * (RFC 4827). Parsed documents are cached per presentity and dropped on XCAP change events;
 * `invalidate()` tells the caller which presentities must be re-evaluated.
 *
 * Rule for two rules documents: the OMA auid's `index` wins when both exist (that is the one
 * Blink and the portal write); otherwise the IETF auid's `index`.
 *
 * Blink percent-encodes URIs inside documents (`<cr:one id="sip%3Abob%40example.test"/>`,
 * `<entry uri="sip%3Abob%40example.test"/>`): identities and list entries are decoded here.
 */
import { evaluatePresRules, parseExternalListAnchor, parsePidfManipulation, parsePresRules, type Permissions, type PresRules, type PresenceDocument, type WatcherIdentity } from "../presence";
import { componentLogger, internString, type SipLogger } from "../sip";
import { childElements, parseXmlTree, type XmlElementView } from "../xml";
import { decodeAnyUri } from "../xcap/addressbook";
import { canonicalAor } from "./aor";
import type { XcapChangeEvent, XcapStore } from "../xcap/server";
import { NS, AUID } from "../presence/namespaces";

/** Resource-lists documents read while resolving one rules document's anchors: each read and parsed once. */
type ListDocuments = Map<string, Promise<XmlElementView | undefined>>;

const MAX_LIST_DEPTH = 6;

interface RulesEntry {
  rules?: PresRules;
  /** anchor → members (canonical URIs). */
  lists: Map<string, string[]>;
  /** XUIs whose resource-lists this entry depends on. */
  listOwners: Set<string>;
  /**
   * Decisions per authenticated watcher URI, while the documents stay the same (the entry is
   * dropped on a change). Absent when a rule has `validity` (the answer depends on the time).
   */
  decisions?: Map<string, Permissions>;
}

const MAX_CACHED_DECISIONS = 10_000;

/** Body cache key of a permission set. */
export function permissionsKey(p: Permissions | undefined): string {
  if (!p) return "none";
  if (p.subHandling === "polite-block") return "neutral";
  if (p.transformationsDefaulted) return "full";
  return JSON.stringify(p.transformations);
}

export interface PresenceAuthorizerOptions {
  store: XcapStore;
  logger?: SipLogger;
}

export class PresenceAuthorizer {
  private readonly store: XcapStore;
  private readonly log: SipLogger;
  private readonly rules = new Map<string, Promise<RulesEntry>>();
  private readonly manipulation = new Map<string, Promise<PresenceDocument | undefined>>();

  constructor(options: PresenceAuthorizerOptions) {
    this.store = options.store;
    this.log = componentLogger("presence:authz", options.logger);
  }

  /**
   * RFC 5025 decision for `watcher` subscribing to `presentity` (a `sip:user@domain` AOR). Equal
   * decisions are one shared object (`matchedRules` empty): treat it as read-only.
   */
  async authorize(presentity: string, watcher: WatcherIdentity): Promise<Permissions> {
    // A user always sees their own presence (other tabs and devices), rules or not — the
    // same grant Blink's wp_prs_allow_own rule makes explicit.
    if (watcher.authenticated && watcher.uri && canonicalAor(decodeAnyUri(watcher.uri)) === canonicalAor(presentity)) {
      return this.share({ subHandling: "allow", matchedRules: ["herald-own-presence"], transformations: { booleans: {}, unknownAttributes: {} }, transformationsDefaulted: true });
    }
    const entry = await this.rulesEntry(presentity);
    const cache = watcher.authenticated && watcher.uri ? entry.decisions : undefined;
    const hit = cache?.get(watcher.uri as string);
    if (hit) return hit;
    const w = watcher.uri ? { ...watcher, uri: decodeAnyUri(watcher.uri) } : watcher;
    const decision = this.share(evaluatePresRules(entry.rules, w, { externalLists: entry.lists }));
    if (cache) {
      if (cache.size >= MAX_CACHED_DECISIONS) cache.clear();
      cache.set(internString(watcher.uri as string), decision); // the subscriptions hold the same string
    }
    return decision;
  }

  /**
   * Watchers with equal permissions share one Permissions object (a full-transformations set is
   * ~1 KiB of small arrays; 10,000 watchers would otherwise hold 10,000 copies) — also those
   * restored from persisted rows.
   */
  private readonly shared = new Map<string, Permissions>();
  share(p: Permissions): Permissions {
    const key = `${p.subHandling}|${permissionsKey(p)}`;
    const hit = this.shared.get(key);
    if (hit) return hit;
    if (this.shared.size >= 10_000) return p;
    const own = { ...p, matchedRules: [] };
    this.shared.set(key, own);
    return own;
  }

  /** The presentity's pidf-manipulation document, parsed (undefined when absent or unusable). */
  pidfManipulation(presentity: string): Promise<PresenceDocument | undefined> {
    let p = this.manipulation.get(presentity);
    if (!p) {
      p = this.loadManipulation(presentity);
      this.manipulation.set(presentity, p);
      p.catch(() => this.manipulation.delete(presentity));
    }
    return p;
  }

  /**
   * Drop cached documents affected by an XCAP change. Returns what the caller must redo:
   * presentities whose authorization may have changed, and whose composed document may have.
   */
  invalidate(event: XcapChangeEvent): { rules: string[]; manipulation: string[] } {
    const user = event.user;
    const out = { rules: [] as string[], manipulation: [] as string[] };
    if (!user) return out;
    if (event.auid === AUID.presRules || event.auid === AUID.ietfPresRules) {
      this.rules.delete(user);
      out.rules.push(user);
    } else if (event.auid === AUID.resourceLists) {
      // any presentity whose rules reference this user's lists (normally only the user itself)
      this.rules.delete(user);
      out.rules.push(user);
      out.rules.push(...this.dependents(user));
    } else if (event.auid === AUID.pidfManipulation) {
      this.manipulation.delete(user);
      out.manipulation.push(user);
    }
    out.rules = [...new Set(out.rules)];
    return out;
  }

  private readonly owners = new Map<string, Set<string>>();
  private dependents(listOwner: string): string[] {
    const deps = [...(this.owners.get(listOwner) ?? [])];
    for (const d of deps) this.rules.delete(d);
    return deps;
  }

  private rulesEntry(presentity: string): Promise<RulesEntry> {
    let p = this.rules.get(presentity);
    if (!p) {
      p = this.loadRules(presentity);
      this.rules.set(presentity, p);
      p.catch(() => this.rules.delete(presentity));
    }
    return p;
  }

  private async loadRules(presentity: string): Promise<RulesEntry> {
    const entry: RulesEntry = { lists: new Map(), listOwners: new Set() };
    let text: string | undefined;
    for (const auid of [AUID.presRules, AUID.ietfPresRules]) {
      const doc = await this.store.get({ auid, scope: "users", xui: presentity, docPath: "index" });
      if (doc) {
        text = doc.content;
        break;
      }
    }
    if (text === undefined) return { ...entry, decisions: new Map() };
    let rules: PresRules;
    try {
      rules = parsePresRules(text);
    } catch (e) {
      // An unusable document grants nothing beyond the no-document default? No: treat as present
      // but empty, so nobody is allowed by accident (RFC 5025 §3.2.1 default block).
      this.log("warn", "unparsable pres-rules, treating as empty", { presentity, error: String(e) });
      return { ...entry, rules: { rules: [] } };
    }
    for (const r of rules.rules) {
      const id = r.conditions.identity;
      if (id) {
        id.ones = id.ones.map((o) => decodeAnyUri(o));
        for (const m of id.manys) for (const e of m.excepts) if (e.id) e.id = decodeAnyUri(e.id);
      }
    }
    entry.rules = rules;
    const anchors = [...new Set(rules.rules.flatMap((r) => r.conditions.externalLists ?? []))];
    const resolved = await readExternalLists(this.store, anchors, this.log);
    entry.lists = resolved.lists;
    entry.listOwners = resolved.owners;
    if (!rules.rules.some((r) => r.conditions.validity)) entry.decisions = new Map();
    for (const owner of entry.listOwners) {
      let s = this.owners.get(owner);
      if (!s) this.owners.set(owner, (s = new Set()));
      s.add(presentity);
    }
    return entry;
  }

  private async loadManipulation(presentity: string): Promise<PresenceDocument | undefined> {
    const doc = await this.store.get({ auid: AUID.pidfManipulation, scope: "users", xui: presentity, docPath: "index" });
    if (!doc) return undefined;
    try {
      return parsePidfManipulation(doc.content);
    } catch (e) {
      this.log("warn", "unparsable pidf-manipulation", { presentity, error: String(e) });
      return undefined;
    }
  }
}

interface ListReader {
  store: XcapStore;
  log: SipLogger;
  docs: ListDocuments;
}

/**
 * Members (decoded URIs) of the resource lists OMA external-list anchors designate, following
 * nested lists and `external` anchors up to MAX_LIST_DEPTH, and the XUIs whose resource-lists they
 * were read from (a change there changes the answer). Shared by pres-rules and im-rules. Blink
 * points several anchors (granted, blocked) into one document: each document is read and parsed once.
 */
export async function readExternalLists(store: XcapStore, anchors: readonly string[], log: SipLogger): Promise<{ lists: Map<string, string[]>; owners: Set<string> }> {
  const r: ListReader = { store, log, docs: new Map() };
  const owners = new Set<string>();
  const resolved = await Promise.all(
    anchors.map(async (anchor) => {
      const members = new Set<string>();
      await resolveAnchor(r, anchor, members, owners, 0);
      return [anchor, [...members]] as [string, string[]];
    }),
  );
  return { lists: new Map(resolved), owners };
}

async function resolveAnchor(r: ListReader, anchor: string, out: Set<string>, owners: Set<string>, depth: number): Promise<void> {
  if (depth > MAX_LIST_DEPTH) return;
  const a = parseExternalListAnchor(decodeAnyUri(anchor)) ?? parseExternalListAnchor(anchor);
  if (!a || a.tree !== "users" || !a.xui) return;
  const xui = canonicalAor(a.xui);
  owners.add(xui);
  const docKey = `${a.auid}\u0000${xui}\u0000${a.document}`;
  let pending = r.docs.get(docKey);
  if (!pending) {
    pending = r.store.get({ auid: a.auid, scope: "users", xui, docPath: a.document }).then((doc) => {
      if (!doc) return undefined;
      try {
        // read only: the light tree (lib/xml-tree.ts)
        return parseXmlTree(doc.content).documentElement ?? undefined;
      } catch (e) {
        r.log("warn", "unparsable resource-lists", { xui, error: String(e) });
        return undefined;
      }
    });
    r.docs.set(docKey, pending);
  }
  const root = await pending;
  if (!root) return;
  let lists: XmlElementView[] = childElements(root).filter((e) => e.namespaceURI === NS.resourceLists && e.localName === "list");
  if (a.listName !== undefined) lists = lists.filter((l) => l.getAttribute("name") === a.listName);
  else if (a.nodeSelector) return; // a selector we do not understand designates nothing we can use
  for (const l of lists) await collect(r, l, out, owners, depth);
}

async function collect(r: ListReader, list: XmlElementView, out: Set<string>, owners: Set<string>, depth: number): Promise<void> {
  for (const c of childElements(list)) {
    if (c.namespaceURI !== NS.resourceLists) continue;
    if (c.localName === "entry") {
      const uri = decodeAnyUri(c.getAttribute("uri"));
      if (uri) out.add(uri);
    } else if (c.localName === "list") {
      await collect(r, c, out, owners, depth + 1);
    } else if (c.localName === "external") {
      const anchor = c.getAttribute("anchor");
      if (anchor) await resolveAnchor(r, anchor, out, owners, depth + 1);
    }
  }
}
