/**
 * Reads a recipient's im-rules (XCAP auid `im-rules`, document `index`) and the resource lists its
 * OMA external-list conditions point at (read as pres-rules' are, `readExternalLists`), caches
 * them per recipient and drops them on XCAP change events. Evaluation: lib/im `evaluateImRules`.
 *
 * - A user may always message themself (other devices).
 * - `sphere` conditions are evaluated against the recipient's sphere as published now
 *   (`sphereOf`), read only for documents that have such a condition and never cached: a new
 *   PUBLISH applies to the next MESSAGE.
 * - At most `maxEntries` recipients' rules are cached (the least recently used one goes).
 * - An unusable stored document is treated as present and empty: nobody is allowed by accident.
 */
import { evaluateImRules, hasSphereCondition, parseImRules, type ImDecision, type ImRules } from "../../im";
import type { WatcherIdentity } from "../../presence";
import { canonicalAor } from "../aor";
import type { SipLogger } from "../../sip";
import { decodeAnyUri } from "../../xcap/addressbook";
import type { XcapChangeEvent, XcapStore } from "../../xcap/server";
import { readExternalLists } from "../presence-authorizer";
import { AUID } from "../../presence/namespaces";


interface Entry {
  rules?: ImRules;
  lists: Map<string, string[]>;
  owners: Set<string>;
}

export interface ImAuthorizerOptions {
  store: XcapStore;
  logger?: SipLogger;
  /** True when `domain` is served (no-document default: its users may message). */
  servesDomain: (domain: string) => boolean | Promise<boolean>;
  /** The recipient's currently published RPID sphere (RFC 4480 §3.2), for `sphere` conditions. */
  sphereOf?: (recipient: string) => Promise<string | undefined>;
  /** Recipients whose rules are kept in memory. Default 10,000. */
  maxEntries?: number;
}

export class ImAuthorizer {
  private readonly entries = new Map<string, Promise<Entry>>();
  private readonly log: SipLogger;
  /** List owner → recipients whose rules read that owner's resource-lists. */
  private readonly dependents = new Map<string, Set<string>>();

  constructor(private readonly o: ImAuthorizerOptions) {
    this.log = o.logger ?? (() => {});
  }

  async authorize(recipient: string, sender: WatcherIdentity): Promise<ImDecision> {
    const uri = sender.uri ? canonicalAor(decodeAnyUri(sender.uri)) : undefined;
    if (sender.authenticated && uri === canonicalAor(recipient)) return { imHandling: "allow", matchedRules: ["herald-own-devices"], defaulted: false };
    const entry = await this.entry(recipient);
    const domain = uri?.slice(uri.lastIndexOf("@") + 1);
    const servedDomains = entry.rules === undefined && domain && (await this.o.servesDomain(domain)) ? [domain] : [];
    const sphere = hasSphereCondition(entry.rules) ? await this.o.sphereOf?.(recipient) : undefined;
    return evaluateImRules(entry.rules, { ...sender, uri }, { externalLists: entry.lists, servedDomains, sphere });
  }

  /** Drop what an XCAP write changed (im-rules of its user; any rules reading that user's lists). */
  invalidate(e: XcapChangeEvent): void {
    if (!e.user) return;
    if (e.auid === AUID.imRules) this.entries.delete(e.user);
    else if (e.auid === AUID.resourceLists) {
      this.entries.delete(e.user);
      for (const recipient of this.dependents.get(e.user) ?? []) this.entries.delete(recipient);
      this.dependents.delete(e.user);
    }
  }

  private entry(recipient: string): Promise<Entry> {
    let p = this.entries.get(recipient);
    if (p) {
      // least recently used first: a hit moves to the end
      this.entries.delete(recipient);
      this.entries.set(recipient, p);
    } else {
      p = this.load(recipient);
      this.entries.set(recipient, p);
      if (this.entries.size > (this.o.maxEntries ?? 10_000)) this.entries.delete(this.entries.keys().next().value as string);
      p.catch(() => this.entries.delete(recipient));
    }
    return p;
  }

  private async load(recipient: string): Promise<Entry> {
    const doc = await this.o.store.get({ auid: AUID.imRules, scope: "users", xui: recipient, docPath: "index" });
    if (!doc) return { lists: new Map(), owners: new Set() };
    let rules: ImRules;
    try {
      rules = parseImRules(doc.content);
    } catch (e) {
      this.log("warn", "im:authz unparsable im-rules, treating as empty", { recipient, error: String(e) });
      return { rules: { rules: [] }, lists: new Map(), owners: new Set() };
    }
    for (const r of rules.rules) {
      const id = r.conditions.identity;
      if (!id) continue;
      id.ones = id.ones.map((o) => decodeAnyUri(o));
      for (const m of id.manys) for (const x of m.excepts) if (x.id) x.id = decodeAnyUri(x.id);
    }
    const anchors = [...new Set(rules.rules.flatMap((r) => r.conditions.externalLists ?? []))];
    const { lists, owners } = await readExternalLists(this.o.store, anchors, this.log);
    for (const owner of owners) {
      let d = this.dependents.get(owner);
      if (!d) this.dependents.set(owner, (d = new Set()));
      d.add(recipient);
    }
    return { rules, lists, owners };
  }
}
