/**
 * Pure edit operations on the resource-lists `index` document (the `sipsimple_addressbook`
 * list). Each edits the DOM in place — elements and attributes it does not know are left
 * untouched — and validates its input, throwing AddressBookError. Run normalizeResourceLists
 * afterwards (AddressBook does) to recompute the derived lists.
 */
import { childElements, childrenNS, firstChildNS, textOf, type XmlDocument, type XmlElement } from "../../xml";
import { createEl, insertAfterLast, removeEl, setText } from "./dom";
import { addressbookItems, contactUriSets, findList, parseResourceLists, readAttributes } from "./documents";
import {
  AddressBookError,
  LIST,
  NS,
  addressIdentity,
  beforeBlockKey,
  decodeAnyUri,
  generateId,
  normalizeName,
  normalizeUri,
  policyBeforeBlock,
  validateHandlingPolicy,
  validateId,
  type AddressBookContext,
  type Contact,
  type EventHandling,
  type EventName,
  type Group,
} from "./model";

/** Attribute changes: a string sets, null writes an explicit nil, undefined removes the attribute. */
export type AttributesPatch = Record<string, string | null | undefined>;

export interface NewContactUri {
  uri: string;
  type?: string | null;
  id?: string;
}

export interface NewContact {
  /** defaults to a new SDK-style id */
  id?: string;
  name?: string;
  /** at least one address; bare `user@domain` becomes `sip:user@domain` */
  uris: Array<string | NewContactUri>;
  /** the preferred address (one of `uris`) */
  defaultUri?: string;
  /** ids of the groups to put the contact in */
  groups?: string[];
  /** default `{ policy: "allow", subscribe: true }`: a buddy sees me and I see them */
  presence?: Partial<EventHandling>;
  /** default `{ policy: "default", subscribe: false }` */
  dialog?: Partial<EventHandling>;
  attributes?: AttributesPatch;
}

export interface ContactPatch {
  name?: string;
  /** replaces the address list; addresses kept from before keep their id, type and extensions */
  uris?: Array<string | NewContactUri>;
  defaultUri?: string | null;
  /** replaces group membership */
  groups?: string[];
  presence?: Partial<EventHandling>;
  dialog?: Partial<EventHandling>;
  attributes?: AttributesPatch;
}

export interface NewGroup {
  id?: string;
  name: string;
  contactIds?: string[];
  attributes?: AttributesPatch;
}

export interface PolicyTargetOptions {
  /** which event's handling to change; default ["presence"] */
  events?: EventName[];
  /** display name for a new policy-element */
  name?: string;
}

export type PolicyChange =
  | { target: "contact"; contactIds: string[] }
  | { target: "policy"; policyId: string | null }
  | { target: "none" };

export const DEFAULT_CONTACT_PRESENCE: EventHandling = { policy: "allow", subscribe: true };
export const DEFAULT_CONTACT_DIALOG: EventHandling = { policy: "default", subscribe: false };

// ---- element plumbing ---------------------------------------------------------------------

const CONTACT_ORDER = ["name", "uris", "dialog", "presence"];
const GROUP_ORDER = ["name", "contacts"];
const POLICY_ORDER = ["name", "dialog", "presence"];

function addressbookList(doc: XmlDocument): XmlElement {
  const list = findList(doc, LIST.addressbook);
  if (list) return list;
  const created = createEl(doc, NS.resourceLists, "list", { name: LIST.addressbook });
  doc.documentElement.appendChild(created);
  return created;
}

/** Child `local` of an address-book item, created at its place in the schema sequence. */
function seqChild(item: XmlElement, local: string, order: readonly string[]): XmlElement {
  const found = firstChildNS(item, NS.addressbook, local);
  if (found) return found;
  const el = createEl(item.ownerDocument!, NS.addressbook, local);
  const idx = order.indexOf(local);
  insertAfterLast(item, el, (e) => e.namespaceURI === NS.addressbook && order.indexOf(e.localName) >= 0 && order.indexOf(e.localName) < idx);
  return el;
}

function writeName(item: XmlElement, order: readonly string[], name: string): void {
  setText(seqChild(item, "name", order), name);
}

function writeHandling(item: XmlElement, order: readonly string[], event: EventName, h: Partial<EventHandling>): void {
  const el = seqChild(item, event, order);
  const policy = firstChildNS(el, NS.addressbook, "policy") ?? el.insertBefore(createEl(el.ownerDocument!, NS.addressbook, "policy", {}, "default"), el.firstChild);
  let subscribe = firstChildNS(el, NS.addressbook, "subscribe");
  if (!subscribe) {
    subscribe = createEl(el.ownerDocument!, NS.addressbook, "subscribe", {}, "false");
    el.insertBefore(subscribe, policy.nextSibling);
  }
  if (h.policy !== undefined) setText(policy, validateHandlingPolicy(h.policy));
  if (h.subscribe !== undefined) setText(subscribe, h.subscribe ? "true" : "false");
}

/** Apply an attributes patch to the `sipsimple:attributes` extension (created at the end when needed). */
export function writeAttributes(item: XmlElement, patch: AttributesPatch | undefined): void {
  if (!patch || Object.keys(patch).length === 0) return;
  const doc = item.ownerDocument!;
  let attrs = firstChildNS(item, NS.sipsimpleAttributes, "attributes");
  for (const [key, value] of Object.entries(patch)) {
    if (!key) throw new AddressBookError("invalid-name", "attribute name is empty");
    const existing = attrs ? childrenNS(attrs, NS.sipsimpleAttributes, "attribute").find((a) => a.getAttribute("name") === key) : undefined;
    if (value === undefined) {
      if (existing) removeEl(existing);
      continue;
    }
    if (!attrs) {
      attrs = createEl(doc, NS.sipsimpleAttributes, "attributes");
      item.appendChild(attrs);
    }
    const a = existing ?? attrs.appendChild(createEl(doc, NS.sipsimpleAttributes, "attribute", { name: key }));
    if (value === null) {
      while (a.firstChild) a.removeChild(a.firstChild);
      a.setAttribute("nil", "true");
    } else {
      if (a.hasAttribute("nil")) a.removeAttribute("nil");
      setText(a, value);
    }
  }
}

function allIds(doc: XmlDocument): Set<string> {
  const ids = new Set<string>();
  const list = findList(doc, LIST.addressbook);
  if (!list) return ids;
  const walk = (el: XmlElement) => {
    const id = el.getAttribute("id");
    if (id) ids.add(id);
    for (const c of childElements(el)) walk(c);
  };
  walk(list);
  return ids;
}

function freshId(doc: XmlDocument, taken: Set<string>, gen: () => string): string {
  for (let i = 0; i < 100; i++) {
    const id = gen();
    if (!taken.has(id)) {
      taken.add(id);
      return id;
    }
  }
  throw new AddressBookError("duplicate-id", "could not generate a unique id");
}

function findById(items: XmlElement[], id: string): XmlElement | undefined {
  return items.find((e) => e.getAttribute("id") === id);
}

function contactEl(doc: XmlDocument, id: string): XmlElement {
  const el = findById(addressbookItems(doc).contacts, id);
  if (!el) throw new AddressBookError("contact-not-found", `no contact with id ${id}`);
  return el;
}

function groupEl(doc: XmlDocument, id: string): XmlElement {
  const el = findById(addressbookItems(doc).groups, id);
  if (!el) throw new AddressBookError("group-not-found", `no group with id ${id}`);
  return el;
}

function groupMembers(group: XmlElement): XmlElement {
  return seqChild(group, "contacts", GROUP_ORDER);
}

function addMember(group: XmlElement, contactId: string): void {
  const members = groupMembers(group);
  if (childrenNS(members, NS.addressbook, "contact_id").some((c) => textOf(c) === contactId)) return;
  members.appendChild(createEl(group.ownerDocument!, NS.addressbook, "contact_id", {}, contactId));
}

function removeMember(group: XmlElement, contactId: string): void {
  const members = firstChildNS(group, NS.addressbook, "contacts");
  if (!members) return;
  for (const c of childrenNS(members, NS.addressbook, "contact_id")) if (textOf(c) === contactId) removeEl(c);
}

function normalizeUriList(uris: Array<string | NewContactUri>): NewContactUri[] {
  const out: NewContactUri[] = [];
  const seen = new Set<string>();
  for (const u of uris) {
    const spec = typeof u === "string" ? { uri: u } : u;
    const uri = normalizeUri(spec.uri);
    if (seen.has(addressIdentity(uri))) continue;
    seen.add(addressIdentity(uri));
    if (spec.id !== undefined) validateId(spec.id);
    if (spec.type !== undefined && spec.type !== null) normalizeName(spec.type, "URI type", false);
    out.push({ uri, type: spec.type ?? null, id: spec.id });
  }
  return out;
}

function readContact(doc: XmlDocument, id: string): Contact {
  return parseResourceLists(doc).contacts.find((c) => c.id === id)!;
}

// ---- contacts -------------------------------------------------------------------------------

/**
 * Refuse an address that is the user's own or already belongs to another contact (host in any
 * letter case): a second row for one person, or for oneself, says nothing true.
 */
function assertNewAddresses(doc: XmlDocument, ctx: AddressBookContext, uris: readonly NewContactUri[], except?: XmlElement): void {
  const own = addressIdentity(ctx.xui);
  const owners = new Map<string, XmlElement>();
  for (const c of addressbookItems(doc).contacts) {
    if (c === except) continue;
    for (const u of contactUriSets(c)) owners.set(addressIdentity(decodeAnyUri(u.getAttribute("uri"))), c);
  }
  for (const { uri } of uris) {
    const key = addressIdentity(uri);
    if (key === own) throw new AddressBookError("own-uri", "that is your own address: you cannot add yourself as a contact");
    const other = owners.get(key);
    if (other) {
      const name = textOf(firstChildNS(other, NS.addressbook, "name"))?.trim();
      throw new AddressBookError("duplicate-uri", `${uri} is already in your contacts${name ? ` (as ${name})` : ""}`);
    }
  }
}

export function addContact(doc: XmlDocument, ctx: AddressBookContext, input: NewContact, gen: () => string = generateId): Contact {
  const list = addressbookList(doc);
  const taken = allIds(doc);
  const name = normalizeName(input.name ?? "", "contact", false);
  const uris = normalizeUriList(input.uris ?? []);
  if (uris.length === 0) throw new AddressBookError("invalid-uri", "a contact needs at least one address");
  assertNewAddresses(doc, ctx, uris);
  const id = input.id !== undefined ? validateId(input.id) : freshId(doc, taken, gen);
  if (input.id !== undefined) {
    if (taken.has(id)) throw new AddressBookError("duplicate-id", `id ${id} is already used`);
    taken.add(id);
  }
  const groups = (input.groups ?? []).map((g) => groupEl(doc, g));
  const contact = createEl(doc, NS.addressbook, "contact", { id });
  writeName(contact, CONTACT_ORDER, name);
  const urisEl = seqChild(contact, "uris", CONTACT_ORDER);
  let defaultId: string | undefined;
  const defaultUri = input.defaultUri !== undefined ? normalizeUri(input.defaultUri) : undefined;
  for (const u of uris) {
    const uid = u.id !== undefined && !taken.has(u.id) ? (taken.add(u.id), u.id) : freshId(doc, taken, gen);
    const attrs: Record<string, string> = { id: uid, uri: u.uri };
    if (u.type) attrs.type = u.type;
    urisEl.appendChild(createEl(doc, NS.addressbook, "uri", attrs));
    if (defaultUri === u.uri) defaultId = uid;
  }
  if (defaultUri !== undefined && defaultId === undefined) throw new AddressBookError("invalid-uri", `default address ${defaultUri} is not one of the contact's addresses`);
  if (defaultId) urisEl.setAttribute("default", defaultId);
  writeHandling(contact, CONTACT_ORDER, "dialog", { ...DEFAULT_CONTACT_DIALOG, ...input.dialog });
  writeHandling(contact, CONTACT_ORDER, "presence", { ...DEFAULT_CONTACT_PRESENCE, ...input.presence });
  writeAttributes(contact, input.attributes);
  list.appendChild(contact);
  for (const g of groups) addMember(g, id);
  return readContact(doc, id);
}

export function editContact(doc: XmlDocument, ctx: AddressBookContext, id: string, patch: ContactPatch, gen: () => string = generateId): Contact {
  const contact = contactEl(doc, id);
  if (patch.name !== undefined) writeName(contact, CONTACT_ORDER, normalizeName(patch.name, "contact", false));
  const urisEl = seqChild(contact, "uris", CONTACT_ORDER);
  if (patch.uris !== undefined) {
    const wanted = normalizeUriList(patch.uris);
    if (wanted.length === 0) throw new AddressBookError("invalid-uri", "a contact needs at least one address");
    assertNewAddresses(doc, ctx, wanted, contact);
    const taken = allIds(doc);
    const existing = contactUriSets(contact);
    const keep = new Set(wanted.map((w) => w.uri));
    for (const e of existing) if (!keep.has(decodeAnyUri(e.getAttribute("uri")))) removeEl(e);
    for (const w of wanted) {
      const found = existing.find((e) => decodeAnyUri(e.getAttribute("uri")) === w.uri);
      if (found) {
        if (w.type !== undefined && w.type !== null && found.getAttribute("type") !== w.type) found.setAttribute("type", w.type);
        continue;
      }
      const attrs: Record<string, string> = { id: w.id !== undefined && !taken.has(w.id) ? (taken.add(w.id), w.id) : freshId(doc, taken, gen), uri: w.uri };
      if (w.type) attrs.type = w.type;
      insertAfterLast(urisEl, createEl(doc, NS.addressbook, "uri", attrs), (e) => e.namespaceURI === NS.addressbook && e.localName === "uri");
    }
    const def = urisEl.getAttribute("default");
    if (def && !contactUriSets(contact).some((u) => u.getAttribute("id") === def)) urisEl.removeAttribute("default");
  }
  if (patch.defaultUri !== undefined) {
    if (patch.defaultUri === null) urisEl.removeAttribute("default");
    else {
      const uri = normalizeUri(patch.defaultUri);
      const el = contactUriSets(contact).find((u) => decodeAnyUri(u.getAttribute("uri")) === uri);
      if (!el) throw new AddressBookError("invalid-uri", `default address ${uri} is not one of the contact's addresses`);
      urisEl.setAttribute("default", el.getAttribute("id")!);
    }
  }
  if (patch.dialog) writeHandling(contact, CONTACT_ORDER, "dialog", patch.dialog);
  if (patch.presence) writeHandling(contact, CONTACT_ORDER, "presence", patch.presence);
  writeAttributes(contact, patch.attributes);
  if (patch.groups !== undefined) {
    const wanted = new Set(patch.groups);
    for (const g of patch.groups) groupEl(doc, g);
    for (const g of addressbookItems(doc).groups) {
      if (wanted.has(g.getAttribute("id") ?? "")) addMember(g, id);
      else removeMember(g, id);
    }
  }
  return readContact(doc, id);
}

export function deleteContact(doc: XmlDocument, id: string): void {
  const contact = contactEl(doc, id);
  for (const g of addressbookItems(doc).groups) removeMember(g, id);
  removeEl(contact);
}

/**
 * Move a contact to group `to` (null: to no group). `from` names the group it leaves; when
 * omitted it leaves every group (a plain "move"); with `from: null` it is only added to `to`.
 */
export function moveContact(doc: XmlDocument, id: string, to: string | null, from?: string | null): Contact {
  contactEl(doc, id);
  const target = to === null ? undefined : groupEl(doc, to);
  if (from === undefined) {
    for (const g of addressbookItems(doc).groups) if (g !== target) removeMember(g, id);
  } else if (from !== null && from !== to) {
    removeMember(groupEl(doc, from), id);
  }
  if (target) addMember(target, id);
  return readContact(doc, id);
}

// ---- groups ---------------------------------------------------------------------------------

function readGroup(doc: XmlDocument, id: string): Group {
  return parseResourceLists(doc).groups.find((g) => g.id === id)!;
}

function assertUniqueGroupName(doc: XmlDocument, name: string, except?: string): void {
  for (const g of addressbookItems(doc).groups) {
    if (g.getAttribute("id") !== except && (firstChildNS(g, NS.addressbook, "name")?.textContent ?? "").trim().toLowerCase() === name.toLowerCase()) {
      throw new AddressBookError("duplicate-name", `a group named ${name} already exists`);
    }
  }
}

export function createGroup(doc: XmlDocument, input: NewGroup, gen: () => string = generateId): Group {
  const list = addressbookList(doc);
  const name = normalizeName(input.name, "group", true);
  assertUniqueGroupName(doc, name);
  const taken = allIds(doc);
  const id = input.id !== undefined ? validateId(input.id) : freshId(doc, taken, gen);
  if (input.id !== undefined && taken.has(id)) throw new AddressBookError("duplicate-id", `id ${id} is already used`);
  for (const c of input.contactIds ?? []) contactEl(doc, c);
  const group = createEl(doc, NS.addressbook, "group", { id });
  writeName(group, GROUP_ORDER, name);
  groupMembers(group);
  writeAttributes(group, input.attributes);
  // groups first in the list, as Blink lists them
  insertAfterLast(list, group, (e) => e.namespaceURI === NS.resourceLists || (e.namespaceURI === NS.addressbook && e.localName === "group"));
  for (const c of input.contactIds ?? []) addMember(group, c);
  return readGroup(doc, id);
}

export function renameGroup(doc: XmlDocument, id: string, name: string): Group {
  const group = groupEl(doc, id);
  const n = normalizeName(name, "group", true);
  assertUniqueGroupName(doc, n, id);
  writeName(group, GROUP_ORDER, n);
  return readGroup(doc, id);
}

/** Delete a group; with deleteContacts, its members that belong to no other group go too. */
export function deleteGroup(doc: XmlDocument, id: string, opts: { deleteContacts?: boolean } = {}): void {
  const group = groupEl(doc, id);
  const members = childrenNS(firstChildNS(group, NS.addressbook, "contacts") ?? group, NS.addressbook, "contact_id").map((c) => textOf(c) ?? "");
  removeEl(group);
  if (!opts.deleteContacts) return;
  const stillGrouped = new Set(parseResourceLists(doc).groups.flatMap((g) => g.contactIds));
  for (const cid of members) {
    if (stillGrouped.has(cid)) continue;
    const c = findById(addressbookItems(doc).contacts, cid);
    if (c) removeEl(c);
  }
}

// ---- policies (allow / block / unblock a URI) ---------------------------------------------

function contactsWithUri(doc: XmlDocument, uri: string): XmlElement[] {
  return addressbookItems(doc).contacts.filter((c) => contactUriSets(c).some((u) => decodeAnyUri(u.getAttribute("uri")) === uri));
}

function readHandlingPolicy(item: XmlElement, event: EventName): string {
  const h = firstChildNS(item, NS.addressbook, event);
  return textOf(h && firstChildNS(h, NS.addressbook, "policy")) ?? "default";
}

function isDefaultHandling(item: XmlElement): boolean {
  return (["presence", "dialog"] as const).every((ev) => {
    const h = firstChildNS(item, NS.addressbook, ev);
    const p = textOf(h && firstChildNS(h, NS.addressbook, "policy")) ?? "default";
    const s = textOf(h && firstChildNS(h, NS.addressbook, "subscribe")) ?? "false";
    return p === "default" && (s === "false" || s === "0");
  });
}

function setUriPolicy(
  doc: XmlDocument,
  ctx: AddressBookContext,
  rawUri: string,
  policy: "allow" | "block",
  opts: PolicyTargetOptions,
  gen: () => string,
): PolicyChange {
  const uri = normalizeUri(rawUri);
  if (policy === "block" && uri === ctx.xui) throw new AddressBookError("own-uri", "you cannot block your own address");
  const events = opts.events ?? ["presence"];
  const contacts = contactsWithUri(doc, uri);
  if (contacts.length > 0) {
    for (const c of contacts) for (const ev of events) writePolicy(c, CONTACT_ORDER, ev, policy);
    return { target: "contact", contactIds: contacts.map((c) => c.getAttribute("id")!) };
  }
  const items = addressbookItems(doc);
  let pol = items.policies.find((p) => decodeAnyUri(p.getAttribute("uri")) === uri);
  if (!pol) {
    const id = freshId(doc, allIds(doc), gen);
    pol = createEl(doc, NS.addressbook, "policy-element", { id, uri });
    writeName(pol, POLICY_ORDER, normalizeName(opts.name ?? "", "policy", false));
    writeHandling(pol, POLICY_ORDER, "dialog", { policy: "default", subscribe: false });
    writeHandling(pol, POLICY_ORDER, "presence", { policy: "default", subscribe: false });
    addressbookList(doc).appendChild(pol);
  } else if (opts.name !== undefined) {
    writeName(pol, POLICY_ORDER, normalizeName(opts.name, "policy", false));
  }
  for (const ev of events) writePolicy(pol, POLICY_ORDER, ev, policy);
  return { target: "policy", policyId: pol.getAttribute("id") };
}

/** Set an item's policy for `event`; a block remembers the policy it replaces, anything else forgets it. */
function writePolicy(item: XmlElement, order: readonly string[], event: EventName, policy: "allow" | "block"): void {
  const current = readHandlingPolicy(item, event);
  if (policy === "block" && current !== "block") writeAttributes(item, { [beforeBlockKey(event)]: current });
  else if (policy !== "block") writeAttributes(item, { [beforeBlockKey(event)]: undefined });
  writeHandling(item, order, event, { policy });
}

/** Undo a block of `item` for `event`: the remembered policy comes back (default when none was kept). */
function restorePolicy(item: XmlElement, order: readonly string[], event: EventName): void {
  if (readHandlingPolicy(item, event) !== "block") return;
  const key = beforeBlockKey(event);
  const policy = policyBeforeBlock(readAttributes(item), event);
  writeAttributes(item, { [key]: undefined });
  const attrs = firstChildNS(item, NS.sipsimpleAttributes, "attributes");
  if (attrs && childElements(attrs).length === 0) removeEl(attrs);
  writeHandling(item, order, event, { policy });
}

/** Let `uri` see my presence: its contact(s) get policy allow, otherwise a policy-element does. */
export function allowUri(doc: XmlDocument, ctx: AddressBookContext, uri: string, opts: PolicyTargetOptions = {}, gen: () => string = generateId): PolicyChange {
  return setUriPolicy(doc, ctx, uri, "allow", opts, gen);
}

/** Block `uri`: its contact(s) get policy block, otherwise a policy-element does. */
export function blockUri(doc: XmlDocument, ctx: AddressBookContext, uri: string, opts: PolicyTargetOptions = {}, gen: () => string = generateId): PolicyChange {
  return setUriPolicy(doc, ctx, uri, "block", opts, gen);
}

/**
 * Undo a block: blocked contacts and policy-elements get back the policy they had before the
 * block (default when it is not known); a policy-element is removed when nothing else is left in
 * it (default handling, no subscription, no attributes).
 */
export function unblockUri(doc: XmlDocument, uri: string, opts: PolicyTargetOptions = {}): PolicyChange {
  const u = normalizeUri(uri);
  const events = opts.events ?? ["presence"];
  const contacts = contactsWithUri(doc, u);
  if (contacts.length > 0) {
    for (const c of contacts) for (const ev of events) restorePolicy(c, CONTACT_ORDER, ev);
    return { target: "contact", contactIds: contacts.map((c) => c.getAttribute("id")!) };
  }
  const pol = addressbookItems(doc).policies.find((p) => decodeAnyUri(p.getAttribute("uri")) === u);
  if (!pol) return { target: "none" };
  for (const ev of events) restorePolicy(pol, POLICY_ORDER, ev);
  const extensions = childElements(pol).filter((e) => e.namespaceURI !== NS.addressbook);
  if (isDefaultHandling(pol) && extensions.length === 0) {
    removeEl(pol);
    return { target: "policy", policyId: null };
  }
  return { target: "policy", policyId: pol.getAttribute("id") };
}

/** Remove a policy-element by id. */
export function deletePolicy(doc: XmlDocument, id: string): void {
  const el = findById(addressbookItems(doc).policies, id);
  if (!el) throw new AddressBookError("policy-not-found", `no policy with id ${id}`);
  removeEl(el);
}
