/**
 * Reading the Blink address book out of its three XCAP documents, and the normalizer that
 * recomputes everything derived from it exactly as python-sipsimple's XCAP manager does:
 * the granted / blocked / RLS lists in resource-lists, the two RLS services in rls-services and
 * the five `wp_prs_*` rules in the OMA pres-rules document.
 *
 * Every function edits the DOM in place and is idempotent: running it on its own output changes
 * nothing, so a retried or half-applied earlier edit converges. Elements and attributes in
 * namespaces the SDK does not know are never removed.
 */
import { childElements, childrenNS, firstChildNS, parseXml, textOf, type XmlDocument, type XmlElement } from "../../xml";
import { nodeUri, resourceListSelector } from "../client/uri";
import { createEl, ensureChild, insertAfterLast, isNS, removeEl, setText } from "./dom";
import {
  AddressBookError,
  AUID,
  LIST,
  decodeAnyUri,
  NS,
  RULE,
  rlsServiceUri,
  type AddressBookContext,
  type AddressBookModel,
  type Contact,
  type ContactUri,
  type DefaultPolicy,
  type DerivedSets,
  type EventHandling,
  type EventName,
  type Group,
  type ItemAttributes,
  type Policy,
} from "./model";

// ---- empty documents ------------------------------------------------------------------------

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

export function emptyResourceLists(): XmlDocument {
  return parseXml(`${DECL}<resource-lists xmlns="${NS.resourceLists}"/>`);
}

export function emptyRlsServices(): XmlDocument {
  return parseXml(`${DECL}<rls-services xmlns="${NS.rlsServices}"/>`);
}

export function emptyPresRules(): XmlDocument {
  return parseXml(`${DECL}<ruleset xmlns="${NS.commonPolicy}" xmlns:pr="${NS.presRules}" xmlns:ocp="${NS.omaCommonPolicy}"/>`);
}

// ---- URIs written into the documents ----------------------------------------------------------

/**
 * XCAP URI of one of the named lists, written RFC 3986-valid (node selector percent-encoded:
 * `.../index/~~/resource-lists/list%5B@name=%22oma_grantedcontacts%22%5D`). Decoded, it is exactly
 * the string python-sipsimple computes, so a Blink client sees no difference and rewrites nothing.
 */
export function listXcapUri(ctx: AddressBookContext, name: string): string {
  return nodeUri(ctx.xcapRoot, ctx.xui, { auid: AUID.resourceLists, document: "index" }, resourceListSelector(name));
}

// ---- resource-lists: reading ---------------------------------------------------------------

function assertRoot(doc: XmlDocument, ns: string, local: string, what: string): XmlElement {
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== ns || root.localName !== local) {
    throw new AddressBookError("invalid-document", `${what} document root is not {${ns}}${local}`);
  }
  return root;
}

export function findList(doc: XmlDocument, name: string): XmlElement | undefined {
  const root = assertRoot(doc, NS.resourceLists, "resource-lists", "resource-lists");
  return childrenNS(root, NS.resourceLists, "list").find((l) => l.getAttribute("name") === name);
}

export function addressbookItems(doc: XmlDocument): { contacts: XmlElement[]; groups: XmlElement[]; policies: XmlElement[] } {
  const list = findList(doc, LIST.addressbook);
  if (!list) return { contacts: [], groups: [], policies: [] };
  return {
    contacts: childrenNS(list, NS.addressbook, "contact"),
    groups: childrenNS(list, NS.addressbook, "group"),
    policies: childrenNS(list, NS.addressbook, "policy-element"),
  };
}

function readHandling(item: XmlElement, event: EventName): EventHandling {
  const h = firstChildNS(item, NS.addressbook, event);
  const policy = textOf(h && firstChildNS(h, NS.addressbook, "policy"));
  const subscribe = textOf(h && firstChildNS(h, NS.addressbook, "subscribe"));
  return {
    policy: policy === "allow" || policy === "block" ? policy : "default",
    subscribe: subscribe === "true" || subscribe === "1",
  };
}

/** `attributes` extension: python-sipsimple's namespace first, the AG resource-lists one as fallback. */
export function readAttributes(item: XmlElement): ItemAttributes {
  const out: ItemAttributes = {};
  for (const ns of [NS.agpResourceLists, NS.sipsimpleAttributes]) {
    const attrs = firstChildNS(item, ns, "attributes");
    if (!attrs) continue;
    for (const a of childrenNS(attrs, ns, "attribute")) {
      const name = a.getAttribute("name");
      if (name === null) continue;
      out[name] = a.hasAttribute("nil") ? null : (a.textContent ?? "");
    }
  }
  return out;
}

function readName(item: XmlElement): string {
  return firstChildNS(item, NS.addressbook, "name")?.textContent ?? "";
}

export function contactUriSets(contact: XmlElement): XmlElement[] {
  const uris = firstChildNS(contact, NS.addressbook, "uris");
  return uris ? childrenNS(uris, NS.addressbook, "uri") : [];
}

export function parseResourceLists(doc: XmlDocument | null): Pick<AddressBookModel, "contacts" | "groups" | "policies"> {
  if (!doc) return { contacts: [], groups: [], policies: [] };
  const items = addressbookItems(doc);
  const groups: Group[] = items.groups.map((g) => {
    const contacts = firstChildNS(g, NS.addressbook, "contacts");
    return {
      id: g.getAttribute("id") ?? "",
      name: readName(g),
      contactIds: contacts ? childrenNS(contacts, NS.addressbook, "contact_id").map((c) => textOf(c) ?? "") : [],
      attributes: readAttributes(g),
    };
  });
  const contacts: Contact[] = items.contacts.map((c) => {
    const id = c.getAttribute("id") ?? "";
    const uris: ContactUri[] = contactUriSets(c).map((u) => ({
      id: u.getAttribute("id") ?? "",
      uri: decodeAnyUri(u.getAttribute("uri")),
      type: u.getAttribute("type"),
      attributes: readAttributes(u),
    }));
    return {
      id,
      name: readName(c),
      uris,
      defaultUriId: firstChildNS(c, NS.addressbook, "uris")?.getAttribute("default") || null,
      groups: groups.filter((g) => g.contactIds.includes(id)).map((g) => g.id),
      presence: readHandling(c, "presence"),
      dialog: readHandling(c, "dialog"),
      attributes: readAttributes(c),
    };
  });
  const ids = new Set(contacts.map((c) => c.id));
  for (const g of groups) g.contactIds = g.contactIds.filter((id) => ids.has(id));
  const policies: Policy[] = items.policies.map((p) => ({
    id: p.getAttribute("id") ?? "",
    uri: decodeAnyUri(p.getAttribute("uri")),
    name: readName(p),
    presence: readHandling(p, "presence"),
    dialog: readHandling(p, "dialog"),
    attributes: readAttributes(p),
  }));
  return { contacts, groups, policies };
}

/**
 * The SDK's set algebra for one event (python operator precedence: `-` before `|`):
 *   allowed    = (contact allow − contact block) ∪ (policy allow − policy block − all contact URIs)
 *   blocked    = contact block ∪ (policy block − all contact URIs)
 *   subscribed = contact subscribe ∪ (policy subscribe − all contact URIs)
 */
export function computeDerived(contacts: readonly Contact[], policies: readonly Policy[], event: EventName): DerivedSets {
  const all = new Set<string>();
  const cAllow = new Set<string>();
  const cBlock = new Set<string>();
  const cSub = new Set<string>();
  for (const c of contacts) {
    for (const u of c.uris) {
      all.add(u.uri);
      if (c[event].policy === "allow") cAllow.add(u.uri);
      if (c[event].policy === "block") cBlock.add(u.uri);
      if (c[event].subscribe) cSub.add(u.uri);
    }
  }
  const pAllow = new Set(policies.filter((p) => p[event].policy === "allow").map((p) => p.uri));
  const pBlock = new Set(policies.filter((p) => p[event].policy === "block").map((p) => p.uri));
  const pSub = new Set(policies.filter((p) => p[event].subscribe).map((p) => p.uri));
  const allowed = new Set([...cAllow].filter((u) => !cBlock.has(u)));
  for (const u of pAllow) if (!pBlock.has(u) && !all.has(u)) allowed.add(u);
  const blocked = new Set(cBlock);
  for (const u of pBlock) if (!all.has(u)) blocked.add(u);
  const subscribed = new Set(cSub);
  for (const u of pSub) if (!all.has(u)) subscribed.add(u);
  const sorted = (s: Set<string>) => [...s].sort();
  return { allowed: sorted(allowed), blocked: sorted(blocked), subscribed: sorted(subscribed) };
}

// ---- pres-rules: reading ------------------------------------------------------------------------

const SUBHANDLING_PRIORITY: Record<string, number> = { block: 0, confirm: 10, "polite-block": 20, allow: 30 };

function rulesById(ruleset: XmlElement): Map<string, XmlElement> {
  const m = new Map<string, XmlElement>();
  for (const r of childrenNS(ruleset, NS.commonPolicy, "rule")) {
    const id = r.getAttribute("id");
    if (id !== null && !m.has(id)) m.set(id, r);
  }
  return m;
}

function subHandlings(rule: XmlElement): XmlElement[] {
  const actions = firstChildNS(rule, NS.commonPolicy, "actions");
  if (!actions) return [];
  return childrenNS(actions, NS.presRules, "sub-handling").sort(
    (a, b) => (SUBHANDLING_PRIORITY[textOf(a) ?? ""] ?? -1) - (SUBHANDLING_PRIORITY[textOf(b) ?? ""] ?? -1),
  );
}

/** Default policy for watchers not listed anywhere, from wp_prs_unlisted / wp_prs_allow_unlisted. */
export function readDefaultPolicy(doc: XmlDocument | null): DefaultPolicy {
  if (!doc) return "confirm";
  const root = assertRoot(doc, NS.commonPolicy, "ruleset", "pres-rules");
  const rules = rulesById(root);
  const unlisted = rules.get(RULE.unlisted);
  if (unlisted) {
    const v = textOf(subHandlings(unlisted).at(-1));
    return v === "block" || v === "polite-block" || v === "confirm" ? v : "confirm";
  }
  if (rules.get(RULE.allowUnlisted)) return "allow";
  return "confirm";
}

export function parseAddressBook(resourceLists: XmlDocument | null, presRules: XmlDocument | null): AddressBookModel {
  const { contacts, groups, policies } = parseResourceLists(resourceLists);
  return {
    contacts,
    groups,
    policies,
    defaultPolicy: readDefaultPolicy(presRules),
    presence: computeDerived(contacts, policies, "presence"),
    dialog: computeDerived(contacts, policies, "dialog"),
  };
}

// ---- resource-lists: normalizer -------------------------------------------------------------

function appendList(doc: XmlDocument, name: string): XmlElement {
  const list = createEl(doc, NS.resourceLists, "list", { name });
  doc.documentElement.appendChild(list);
  return list;
}

const NON_ENTRY_ITEMS = new Set(["list", "external", "entry-ref"]);
const RL_ITEMS = new Set(["list", "external", "entry-ref", "entry"]);

/** Make the `entry` children of a derived list equal `uris` (as a set), touching only what differs. */
function syncEntries(list: XmlElement, uris: readonly string[]): void {
  const want = new Set(uris);
  const seen = new Set<string>();
  for (const e of childrenNS(list, NS.resourceLists, "entry")) {
    const uri = decodeAnyUri(e.getAttribute("uri"));
    if (!want.has(uri) || seen.has(uri)) removeEl(e);
    else seen.add(uri);
  }
  const doc = list.ownerDocument!;
  for (const uri of [...want].sort()) {
    if (seen.has(uri)) continue;
    // entries go before any ##other extension children (listType sequence)
    insertAfterLast(list, createEl(doc, NS.resourceLists, "entry", { uri }), (e) => e.namespaceURI === NS.resourceLists);
  }
}

/**
 * Normalise resource-lists `index` as the SDK does: create the named lists that are missing,
 * drop foreign resource-list items from the derived lists and the address book list, drop group
 * members that are not contacts, and recompute the granted / blocked / RLS lists.
 */
export function normalizeResourceLists(doc: XmlDocument, ctx: AddressBookContext): void {
  assertRoot(doc, NS.resourceLists, "resource-lists", "resource-lists");
  const get = (name: string) => findList(doc, name) ?? appendList(doc, name);
  get(LIST.buddies);
  const presenceGranted = get(LIST.presenceGranted);
  const presenceBlocked = get(LIST.presenceBlocked);
  if (!findList(doc, LIST.allContacts)) {
    const all = appendList(doc, LIST.allContacts);
    for (const name of [LIST.buddies, LIST.presenceGranted, LIST.presenceBlocked]) {
      all.appendChild(createEl(doc, NS.resourceLists, "external", { anchor: listXcapUri(ctx, name) }));
    }
  }
  const derived = {
    presenceGranted,
    presenceBlocked,
    dialogGranted: get(LIST.dialogGranted),
    dialogBlocked: get(LIST.dialogBlocked),
    presenceRls: get(LIST.presenceRls),
    dialogRls: get(LIST.dialogRls),
  };
  const ab = get(LIST.addressbook);

  for (const l of Object.values(derived)) {
    for (const e of childElements(l)) if (e.namespaceURI === NS.resourceLists && NON_ENTRY_ITEMS.has(e.localName)) removeEl(e);
  }
  for (const e of childElements(ab)) if (e.namespaceURI === NS.resourceLists && RL_ITEMS.has(e.localName)) removeEl(e);

  // group members must be contacts
  const contactIds = new Set(childrenNS(ab, NS.addressbook, "contact").map((c) => c.getAttribute("id")));
  for (const g of childrenNS(ab, NS.addressbook, "group")) {
    const members = firstChildNS(g, NS.addressbook, "contacts");
    if (!members) continue;
    for (const cid of childrenNS(members, NS.addressbook, "contact_id")) if (!contactIds.has(textOf(cid) ?? "")) removeEl(cid);
  }

  const { contacts, policies } = parseResourceLists(doc);
  const presence = computeDerived(contacts, policies, "presence");
  const dialog = computeDerived(contacts, policies, "dialog");
  syncEntries(derived.presenceGranted, presence.allowed);
  syncEntries(derived.presenceBlocked, presence.blocked);
  syncEntries(derived.presenceRls, presence.subscribed);
  syncEntries(derived.dialogGranted, dialog.allowed);
  syncEntries(derived.dialogBlocked, dialog.blocked);
  syncEntries(derived.dialogRls, dialog.subscribed);
}

// ---- rls-services: normalizer ---------------------------------------------------------------

/**
 * Ensure the services `sip:<user>+presence@<domain>` (package presence) and
 * `sip:<user>+dialog@<domain>` (package dialog), each with a `resource-list` pointing at the
 * matching RLS list. Other services are left alone.
 */
export function normalizeRlsServices(doc: XmlDocument, ctx: AddressBookContext): void {
  const root = assertRoot(doc, NS.rlsServices, "rls-services", "rls-services");
  for (const [event, listName] of [
    ["presence", LIST.presenceRls],
    ["dialog", LIST.dialogRls],
  ] as const) {
    const uri = rlsServiceUri(ctx.xui, event);
    const listUri = listXcapUri(ctx, listName);
    let service = childrenNS(root, NS.rlsServices, "service").find((s) => decodeAnyUri(s.getAttribute("uri")) === uri);
    if (!service) {
      service = createEl(doc, NS.rlsServices, "service", { uri });
      root.appendChild(service);
    }
    // the list reference: exactly one resource-list (an inline list is replaced)
    for (const l of childrenNS(service, NS.rlsServices, "list")) removeEl(l);
    const refs = childrenNS(service, NS.rlsServices, "resource-list");
    for (const extra of refs.slice(1)) removeEl(extra);
    const ref = refs[0] ?? createEl(doc, NS.rlsServices, "resource-list");
    if (!refs[0]) service.insertBefore(ref, childElements(service)[0] ?? null);
    if (decodeAnyUri(ref.textContent) !== decodeAnyUri(listUri)) setText(ref, listUri);
    // packages: exactly [event]
    const packages = ensureChild(service, NS.rlsServices, "packages", (p) => service!.insertBefore(p, ref.nextSibling));
    const pkgs = childrenNS(packages, NS.rlsServices, "package");
    if (pkgs.length !== 1 || textOf(pkgs[0]) !== event) {
      for (const p of pkgs) removeEl(p);
      packages.insertBefore(createEl(doc, NS.rlsServices, "package", {}, event), packages.firstChild);
    }
  }
}

// ---- pres-rules: normalizer -----------------------------------------------------------------

const CONDITION_NS = new Set<string>([NS.commonPolicy, NS.omaCommonPolicy, NS.presRules]);
const TRANSFORMATION_NS = new Set<string>([NS.commonPolicy, NS.presRules]);

function newRule(doc: XmlDocument, id: string, condition: XmlElement, subHandling: string): XmlElement {
  const rule = createEl(doc, NS.commonPolicy, "rule", { id });
  const conditions = createEl(doc, NS.commonPolicy, "conditions");
  conditions.appendChild(condition);
  const actions = createEl(doc, NS.commonPolicy, "actions");
  actions.appendChild(createEl(doc, NS.presRules, "sub-handling", {}, subHandling));
  rule.appendChild(conditions);
  rule.appendChild(actions);
  return rule;
}

/** Keep exactly one sub-handling (the most permissive present), forced into `valid`. */
function fixSubHandling(rule: XmlElement, valid: readonly string[]): void {
  const doc = rule.ownerDocument!;
  const actions = ensureChild(rule, NS.commonPolicy, "actions", (a) => {
    const conditions = firstChildNS(rule, NS.commonPolicy, "conditions");
    rule.insertBefore(a, conditions ? conditions.nextSibling : rule.firstChild);
  });
  const subs = subHandlings(rule);
  if (subs.length === 0) {
    // RFC 5025 §3.2.1: a missing sub-handling means block
    const sh = createEl(doc, NS.presRules, "sub-handling", {}, "block");
    actions.insertBefore(sh, actions.firstChild);
    subs.push(sh);
  }
  const keep = subs.pop()!;
  for (const s of subs) removeEl(s);
  if (!valid.includes(textOf(keep) ?? "")) setText(keep, valid[0]!);
}

/** Conditions must consist of exactly the one expected condition (unknown-namespace ones are kept). */
function fixConditions(rule: XmlElement, matches: (e: XmlElement) => boolean, build: () => XmlElement): void {
  const conditions = ensureChild(rule, NS.commonPolicy, "conditions", (c) => rule.insertBefore(c, rule.firstChild));
  const known = childElements(conditions).filter((e) => CONDITION_NS.has(e.namespaceURI ?? ""));
  if (known.length === 1 && matches(known[0]!)) return;
  for (const k of known) removeEl(k);
  conditions.insertBefore(build(), conditions.firstChild);
}

function dropTransformations(rule: XmlElement): void {
  const t = firstChildNS(rule, NS.commonPolicy, "transformations");
  if (t && childElements(t).some((e) => TRANSFORMATION_NS.has(e.namespaceURI ?? ""))) removeEl(t);
}

interface RuleSpec {
  condition: () => XmlElement;
  matches: (e: XmlElement) => boolean;
}

function ruleSpecs(doc: XmlDocument, ctx: AddressBookContext) {
  const externalList = (url: string): RuleSpec => ({
    condition: () => {
      const el = createEl(doc, NS.omaCommonPolicy, "external-list");
      el.appendChild(createEl(doc, NS.omaCommonPolicy, "entry", { anc: url }));
      return el;
    },
    matches: (e) => {
      if (!isNS(e, NS.omaCommonPolicy, "external-list")) return false;
      const entries = childrenNS(e, NS.omaCommonPolicy, "entry");
      return entries.length === 1 && decodeAnyUri(entries[0]!.getAttribute("anc")) === decodeAnyUri(url);
    },
  });
  const empty = (local: string): RuleSpec => ({
    condition: () => createEl(doc, NS.omaCommonPolicy, local),
    matches: (e) => isNS(e, NS.omaCommonPolicy, local),
  });
  const self: RuleSpec = {
    condition: () => {
      const identity = createEl(doc, NS.commonPolicy, "identity");
      identity.appendChild(createEl(doc, NS.commonPolicy, "one", { id: ctx.xui }));
      return identity;
    },
    matches: (e) => {
      if (!isNS(e, NS.commonPolicy, "identity")) return false;
      const kids = childElements(e).filter((k) => k.namespaceURI === NS.commonPolicy);
      return kids.length === 1 && isNS(kids[0]!, NS.commonPolicy, "one") && decodeAnyUri(kids[0]!.getAttribute("id")) === ctx.xui;
    },
  };
  return {
    granted: externalList(listXcapUri(ctx, LIST.presenceGranted)),
    blocked: externalList(listXcapUri(ctx, LIST.presenceBlocked)),
    other: empty("other-identity"),
    anonymous: empty("anonymous-request"),
    self,
  };
}

const KNOWN_RULES = new Set<string>(Object.values(RULE));

/**
 * Normalise the OMA pres-rules `index` as the SDK does: exactly the rules wp_prs_grantedcontacts
 * (allow), wp_prs_blockedcontacts (polite-block), wp_prs_unlisted (confirm|block|polite-block)
 * or wp_prs_allow_unlisted (allow), wp_prs_block_anonymous (block|polite-block) and
 * wp_prs_allow_own (allow); any other rule is deleted.
 */
export function normalizePresRules(doc: XmlDocument, ctx: AddressBookContext): void {
  const root = assertRoot(doc, NS.commonPolicy, "ruleset", "pres-rules");
  const specs = ruleSpecs(doc, ctx);
  const rules = rulesById(root);
  const ensure = (id: string, spec: RuleSpec, valid: readonly string[]) => {
    const rule = rules.get(id);
    if (!rule) {
      root.appendChild(newRule(doc, id, spec.condition(), valid[0]!));
      return;
    }
    fixSubHandling(rule, valid);
    fixConditions(rule, spec.matches, spec.condition);
    dropTransformations(rule);
  };
  ensure(RULE.granted, specs.granted, ["allow"]);
  ensure(RULE.blocked, specs.blocked, ["polite-block"]);

  const unlisted = rules.get(RULE.unlisted);
  let allowUnlisted = rules.get(RULE.allowUnlisted);
  if (unlisted && allowUnlisted) {
    removeEl(allowUnlisted);
    allowUnlisted = undefined;
  }
  if (!unlisted && !allowUnlisted) {
    root.appendChild(newRule(doc, RULE.unlisted, specs.other.condition(), "confirm"));
  } else {
    const rule = (unlisted ?? allowUnlisted)!;
    fixSubHandling(rule, unlisted ? ["confirm", "block", "polite-block"] : ["allow"]);
    fixConditions(rule, specs.other.matches, specs.other.condition);
    dropTransformations(rule);
  }
  ensure(RULE.blockAnonymous, specs.anonymous, ["block", "polite-block"]);
  ensure(RULE.allowOwn, specs.self, ["allow"]);

  // remove every rule the SDK does not know (the note's warning: Blink would delete it anyway)
  for (const r of childrenNS(root, NS.commonPolicy, "rule")) {
    const id = r.getAttribute("id");
    if (id === null || !KNOWN_RULES.has(id)) removeEl(r);
  }
  // duplicates of a known id: keep the first
  const seen = new Set<string>();
  for (const r of childrenNS(root, NS.commonPolicy, "rule")) {
    const id = r.getAttribute("id")!;
    if (seen.has(id)) removeEl(r);
    else seen.add(id);
  }
}

/**
 * Set the policy for unlisted watchers like the SDK: `allow` is the rule wp_prs_allow_unlisted,
 * anything else wp_prs_unlisted with that sub-handling. The replaced rule keeps its position.
 */
export function setDefaultPolicyInPresRules(doc: XmlDocument, ctx: AddressBookContext, policy: DefaultPolicy): void {
  normalizePresRules(doc, ctx);
  const root = doc.documentElement;
  const rules = rulesById(root);
  const [ruleId, otherId] = policy === "allow" ? [RULE.allowUnlisted, RULE.unlisted] : [RULE.unlisted, RULE.allowUnlisted];
  const other = rules.get(otherId);
  if (other) {
    root.insertBefore(newRule(doc, ruleId, ruleSpecs(doc, ctx).other.condition(), policy), other);
    removeEl(other);
  } else {
    const rule = rules.get(ruleId)!;
    const sh = subHandlings(rule).at(-1)!;
    setText(sh, policy);
  }
  normalizePresRules(doc, ctx);
}
