/**
 * Pure, optimistic versions of the address-book edits: what the list shows while the server
 * action runs. The server's answer (a fresh load) replaces them; a failure rolls back.
 */
import { policyBeforeBlock, type AddressBookModel, type Contact, type EventHandling, type Group, type HandlingPolicy } from "@/lib/xcap/addressbook/model";

export type { AddressBookModel, Contact, Group };

/** bare user@domain → sip:user@domain (as the server normalises). */
export function normalizeAddress(input: string): string {
  const s = input.trim();
  if (/^(sips?|tel):/i.test(s)) return s.replace(/^([A-Za-z]+):/, (m) => m.toLowerCase());
  return `sip:${s}`;
}

export function displayAddress(uri: string): string {
  return uri.replace(/^sips?:/, "");
}

let tempCounter = 0;
export function tempId(prefix: string): string {
  tempCounter += 1;
  return `pending_${prefix}_${tempCounter}`;
}

export function isPendingId(id: string): boolean {
  return id.startsWith("pending_");
}

function uniq<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

/** Recompute the derived presence sets the list shows (blocked) after an optimistic edit. */
function withDerived(m: AddressBookModel): AddressBookModel {
  const allowed: string[] = [];
  const blocked: string[] = [];
  const subscribed: string[] = [];
  for (const c of m.contacts) {
    for (const u of c.uris) {
      if (c.presence.policy === "allow") allowed.push(u.uri);
      if (c.presence.policy === "block") blocked.push(u.uri);
      if (c.presence.subscribe) subscribed.push(u.uri);
    }
  }
  for (const p of m.policies) {
    if (p.presence.policy === "allow") allowed.push(p.uri);
    if (p.presence.policy === "block") blocked.push(p.uri);
    if (p.presence.subscribe) subscribed.push(p.uri);
  }
  return { ...m, presence: { allowed: uniq(allowed), blocked: uniq(blocked), subscribed: uniq(subscribed) } };
}

export interface NewContactInput {
  name: string;
  uri: string;
  group: string | null;
  presence: EventHandling;
}

export function addContactOptimistic(m: AddressBookModel, input: NewContactInput, id: string): AddressBookModel {
  const uri = normalizeAddress(input.uri);
  const contact: Contact = {
    id,
    name: input.name,
    uris: [{ id: `${id}_uri`, uri, type: null, attributes: {} }],
    defaultUriId: null,
    groups: input.group ? [input.group] : [],
    presence: input.presence,
    dialog: { policy: "default", subscribe: false },
    attributes: {},
  };
  return withDerived({
    ...m,
    contacts: [...m.contacts, contact],
    groups: m.groups.map((g) => (g.id === input.group ? { ...g, contactIds: [...g.contactIds, id] } : g)),
    policies: m.policies.filter((p) => p.uri !== uri),
  });
}

export interface ContactEdit {
  name?: string;
  uris?: string[];
  presence?: Partial<EventHandling>;
}

export function editContactOptimistic(m: AddressBookModel, id: string, patch: ContactEdit): AddressBookModel {
  return withDerived({
    ...m,
    contacts: m.contacts.map((c) => {
      if (c.id !== id) return c;
      const next: Contact = { ...c };
      if (patch.name !== undefined) next.name = patch.name;
      if (patch.uris) {
        next.uris = patch.uris.map((u, i) => c.uris.find((x) => x.uri === normalizeAddress(u)) ?? { id: `${id}_uri_${i}`, uri: normalizeAddress(u), type: null, attributes: {} });
      }
      if (patch.presence) next.presence = { ...c.presence, ...patch.presence };
      return next;
    }),
  });
}

export function deleteContactOptimistic(m: AddressBookModel, id: string): AddressBookModel {
  return withDerived({
    ...m,
    contacts: m.contacts.filter((c) => c.id !== id),
    groups: m.groups.map((g) => ({ ...g, contactIds: g.contactIds.filter((x) => x !== id) })),
  });
}

/** The contact is in exactly these groups (any number, none included). */
export function setGroupsOptimistic(m: AddressBookModel, id: string, groupIds: readonly string[]): AddressBookModel {
  const wanted = new Set(groupIds);
  const groups = m.groups.map((g) => {
    const has = g.contactIds.includes(id);
    if (wanted.has(g.id) === has) return g;
    return { ...g, contactIds: has ? g.contactIds.filter((x) => x !== id) : [...g.contactIds, id] };
  });
  return {
    ...m,
    groups,
    contacts: m.contacts.map((c) => (c.id === id ? { ...c, groups: groups.filter((g) => g.contactIds.includes(id)).map((g) => g.id) } : c)),
  };
}

export function createGroupOptimistic(m: AddressBookModel, name: string, id: string): AddressBookModel {
  return { ...m, groups: [...m.groups, { id, name, contactIds: [], attributes: {} }] };
}

export function renameGroupOptimistic(m: AddressBookModel, id: string, name: string): AddressBookModel {
  return { ...m, groups: m.groups.map((g) => (g.id === id ? { ...g, name } : g)) };
}

export function deleteGroupOptimistic(m: AddressBookModel, id: string): AddressBookModel {
  return {
    ...m,
    groups: m.groups.filter((g) => g.id !== id),
    contacts: m.contacts.map((c) => (c.groups.includes(id) ? { ...c, groups: c.groups.filter((g) => g !== id) } : c)),
  };
}

/** Block / allow / unblock a URI: its contacts change policy, otherwise a policy-element does. */
export function setUriPolicyOptimistic(m: AddressBookModel, uri: string, action: "allow" | "block" | "unblock"): AddressBookModel {
  const u = normalizeAddress(uri);
  const hasContact = m.contacts.some((c) => c.uris.some((x) => x.uri === u));
  // an unblock gives back the policy from before the block, as the server-side edit does
  const policyFor = (item: { presence: EventHandling; attributes: Record<string, string | null> }): HandlingPolicy =>
    action === "unblock" ? (item.presence.policy === "block" ? policyBeforeBlock(item.attributes, "presence") : item.presence.policy) : action;
  if (hasContact) {
    return withDerived({
      ...m,
      contacts: m.contacts.map((c) => (c.uris.some((x) => x.uri === u) ? { ...c, presence: { ...c.presence, policy: policyFor(c) } } : c)),
    });
  }
  const existing = m.policies.find((p) => p.uri === u);
  if (existing) {
    const policies = m.policies
      .map((p) => (p.uri === u ? { ...p, presence: { ...p.presence, policy: policyFor(p) } } : p))
      .filter((p) => !(p.uri === u && p.presence.policy === "default" && !p.presence.subscribe));
    return withDerived({ ...m, policies });
  }
  if (action === "unblock") return withDerived(m);
  return withDerived({
    ...m,
    policies: [...m.policies, { id: tempId("policy"), uri: u, name: "", presence: { policy: action, subscribe: false }, dialog: { policy: "default", subscribe: false }, attributes: {} }],
  });
}

/** Accept a watcher: their contact gets allow+subscribe, or a new contact is added. */
export function acceptWatcherOptimistic(m: AddressBookModel, uri: string, name: string, id: string): AddressBookModel {
  const u = normalizeAddress(uri);
  if (m.contacts.some((c) => c.uris.some((x) => x.uri === u))) {
    return withDerived({
      ...m,
      contacts: m.contacts.map((c) => (c.uris.some((x) => x.uri === u) ? { ...c, presence: { policy: "allow", subscribe: true } } : c)),
    });
  }
  return addContactOptimistic(m, { name, uri: u, group: null, presence: { policy: "allow", subscribe: true } }, id);
}
