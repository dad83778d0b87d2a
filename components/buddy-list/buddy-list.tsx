"use client";
/**
 * The Gmail-style buddy list: requests from new watchers on top, then the groups (collapsible,
 * with online counts), contacts without a group, and the blocked addresses. Every change goes
 * through the address-book server actions it is given; the list changes at once (optimistic)
 * and rolls back with the error text when the server refuses.
 *
 * Keyboard: the contact rows are one Tab stop (roving tabindex); ArrowUp/ArrowDown, Home and End
 * move between rows, ArrowRight reaches the row's actions menu and ArrowLeft comes back, Enter
 * opens the details and Escape closes them; "/" anywhere focuses the search.
 */
import { useTotalUnread } from "../chat/chat-context";
import { startTransition, useCallback, useEffect, useId, useMemo, useRef, useState } from "react";
import type { ContactPresence, PresenceSnapshot, WatcherEntry } from "@/lib/client";
import type { ActionResult } from "@/lib/portal/wire-types";
import { useDocumentsChanged, usePresence, usePresenceClient } from "../presence/presence-client-context";
import { ADDRESS_BOOK_AUIDS } from "@/lib/client/document-auids";
import { ContactIcon, type XcapLocation } from "../presence/contact-icon";
import { isOnline, type ShownAvailability } from "../presence/status-indicator";
import { Menu } from "../ui/menu";
import { btn, field } from "../ui/styles";
import { useTransientMessage } from "../ui/use-transient-message";
import { useDesktopNotifications, useNewKeys, useOncePerKey, useRequestBadge } from "./attention";
import { AddContactDialog, ConfirmDialog, EditContactDialog, GroupNameDialog, GroupsDialog, type ContactFormValues } from "./contact-dialogs";
import { ContactRow, contactDisplayName, noteLines } from "./contact-row";
import * as ops from "./model-ops";
import type { AddressBookModel, Contact, Group } from "./model-ops";

type Handling = { policy?: "allow" | "block" | "default"; subscribe?: boolean };

/** The address-book server actions (app/actions.ts), passed in by the page. */
export interface AddressBookActions {
  loadAddressBook: () => Promise<ActionResult<AddressBookModel>>;
  addContact: (input: { name?: string; uris: string[]; groups?: string[]; presence?: Handling }) => Promise<ActionResult<Contact>>;
  editContact: (id: string, patch: { name?: string; uris?: string[]; groups?: string[]; presence?: Handling }) => Promise<ActionResult<Contact>>;
  deleteContact: (id: string) => Promise<ActionResult<null>>;
  moveContact: (id: string, to: string | null, from?: string | null) => Promise<ActionResult<Contact>>;
  createGroup: (name: string) => Promise<ActionResult<Group>>;
  renameGroup: (id: string, name: string) => Promise<ActionResult<Group>>;
  deleteGroup: (id: string) => Promise<ActionResult<null>>;
  setUriPolicy: (uri: string, action: "allow" | "block" | "unblock") => Promise<ActionResult<null>>;
  acceptWatcher: (uri: string, name?: string) => Promise<ActionResult<Contact>>;
}

const COLLAPSED_KEY = "herald.collapsedGroups";
const UNGROUPED = "__ungrouped";
/** Per user: show offline contacts, sort order. */
const VIEW_KEY = "herald.listView:";
/** Per user: last time each contact was seen online, and the last picture they published. */
const SEEN_KEY = "herald.lastSeen:";
const ICONS_KEY = "herald.lastIcons:";

export type SortOrder = "status" | "name";
export interface ListView {
  showOffline: boolean;
  sort: SortOrder;
}
const DEFAULT_VIEW: ListView = { showOffline: true, sort: "status" };

function readJson<T>(key: string, fallback: T): T {
  try {
    const raw = window.localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : fallback;
  } catch {
    return fallback;
  }
}

function writeJson(key: string, value: unknown): void {
  try {
    window.localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // not kept
  }
}

/** "Idle 12 min", "Last seen 3 h ago", "Last seen 2 Dec": the wording a row shows. */
export function seenText(kind: "idle" | "seen", at: number, now: number): string {
  const min = Math.max(0, Math.floor((now - at) / 60_000));
  if (kind === "idle") return min < 60 ? `Idle ${Math.max(1, min)} min` : `Idle ${Math.floor(min / 60)} h`;
  if (min < 1) return "Last seen just now";
  if (min < 60) return `Last seen ${min} min ago`;
  if (min < 24 * 60) return `Last seen ${Math.floor(min / 60)} h ago`;
  return `Last seen ${new Date(at).toLocaleDateString([], { day: "numeric", month: "short" })}`;
}

interface ShownContact {
  contact: Contact;
  name: string;
  uris: string[];
  presence: ContactPresence | undefined;
  availability: ShownAvailability;
  blocked: boolean;
}

const RANK: Record<ShownAvailability, number> = { available: 0, busy: 1, away: 2, "extended-away": 3, offline: 4, unknown: 5 };

function presenceFor(contact: Contact, snap: PresenceSnapshot): { presence?: ContactPresence; availability: ShownAvailability } {
  let best: ContactPresence | undefined;
  for (const u of contact.uris) {
    const p = snap.contacts.get(u.uri);
    if (p && (!best || RANK[p.availability] < RANK[best.availability])) best = p;
  }
  if (!best || !contact.presence.subscribe) return { presence: best, availability: "unknown" };
  return { presence: best, availability: best.availability };
}

/** Online first, then by name. */
function byPresenceThenName(a: ShownContact, b: ShownContact): number {
  const oa = isOnline(a.availability) ? 0 : 1;
  const ob = isOnline(b.availability) ? 0 : 1;
  return oa - ob || byName(a, b);
}

/** One collator: `localeCompare` with options builds a new one on every call (most of a 200-contact sort). */
const nameOrder = new Intl.Collator(undefined, { sensitivity: "base" });

function byName(a: ShownContact, b: ShownContact): number {
  return nameOrder.compare(a.name, b.name);
}

function matches(c: ShownContact, q: string): boolean {
  if (!q) return true;
  const hay = [c.name, ...c.uris, ...noteLines(c.presence, c.contact.presence.subscribe, c.blocked)].join("\n").toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

type Dialogs =
  | { kind: "none" }
  | { kind: "add" }
  | { kind: "edit"; contact: Contact }
  | { kind: "groups"; contact: Contact }
  | { kind: "delete"; contact: Contact }
  | { kind: "new-group" }
  | { kind: "rename-group"; group: Group }
  | { kind: "delete-group"; group: Group };

export function BuddyList({ self, initialModel, actions, xcap }: { self: string; initialModel: AddressBookModel; actions: AddressBookActions; xcap: XcapLocation | null }) {
  const snap = usePresence();
  const client = usePresenceClient();
  const [model, setModel] = useState<AddressBookModel>(initialModel);
  const modelRef = useRef(model);
  modelRef.current = model;
  const [query, setQuery] = useState("");
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const [dialog, setDialog] = useState<Dialogs>({ kind: "none" });
  const [progress, setProgress] = useTransientMessage();
  const [view, setView] = useState<ListView>(DEFAULT_VIEW);
  const [focusKey, setFocusKey] = useState<string | null>(null);
  const [now, setNow] = useState(0);
  const lastSeen = useRef<Record<string, number>>({});
  const wasOnline = useRef<Set<string>>(new Set());
  const [lastIcons, setLastIcons] = useState<Record<string, string>>({});
  const searchRef = useRef<HTMLInputElement>(null);
  const attention = useDesktopNotifications();
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState<Set<string>>(() => new Set());
  /** Requests handled here whose winfo update has not arrived yet. */
  const [handled, setHandled] = useState<Set<string>>(() => new Set());
  const pendingOps = useRef(0);
  const searchId = useId();
  // the contact rows render in a transition after the first commit: the SIP client, started by
  // the provider's effect in that commit, connects and subscribes while they render
  const [rowsReady, setRowsReady] = useState(false);
  useEffect(() => startTransition(() => setRowsReady(true)), []);

  useEffect(() => {
    try {
      const raw = window.localStorage.getItem(COLLAPSED_KEY);
      if (raw) setCollapsed(new Set(JSON.parse(raw) as string[]));
    } catch {
      // nothing stored
    }
  }, []);

  // remembered per user (read after hydration: the server renders the defaults)
  useEffect(() => {
    const v = readJson<Partial<ListView>>(VIEW_KEY + self, {});
    setView({ showOffline: v.showOffline !== false, sort: v.sort === "name" ? "name" : "status" });
    lastSeen.current = readJson<Record<string, number>>(SEEN_KEY + self, {});
    setLastIcons(readJson<Record<string, string>>(ICONS_KEY + self, {}));
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(t);
  }, [self]);

  const changeView = useCallback(
    (patch: Partial<ListView>) => {
      setView((v) => {
        const next = { ...v, ...patch };
        writeJson(VIEW_KEY + self, next);
        return next;
      });
    },
    [self],
  );

  // "/" focuses the search from anywhere but a text field
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) || t.closest("dialog[open]"))) return;
      e.preventDefault();
      searchRef.current?.focus();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  // a handled request is hidden until winfo stops listing it as pending; after that, a new
  // request from the same address (e.g. after an unblock) shows again
  const pendingKey = snap.pendingWatchers.map((w) => w.uri).join("\n");
  useEffect(() => {
    const pending = new Set(pendingKey.split("\n"));
    setHandled((h) => {
      const kept = [...h].filter((u) => pending.has(u));
      return kept.length === h.size ? h : new Set(kept);
    });
  }, [pendingKey]);

  const toggleGroup = useCallback((id: string) => {
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      try {
        window.localStorage.setItem(COLLAPSED_KEY, JSON.stringify([...next]));
      } catch {
        // not kept
      }
      return next;
    });
  }, []);

  /**
   * Run one change: show it at once, call the server, then take the server's address book (or
   * roll back and show why not).
   */
  const mutate = useCallback(
    async <T,>(label: { doing: string; done: string }, apply: (m: AddressBookModel) => AddressBookModel, call: () => Promise<ActionResult<T>>, busyIds: string[] = []) => {
      const before = modelRef.current;
      const after = apply(before);
      modelRef.current = after;
      setModel(after);
      setError(null);
      setProgress(label.doing, { sticky: true });
      if (busyIds.length) setSaving((s) => new Set([...s, ...busyIds]));
      pendingOps.current += 1;
      let result: ActionResult<T>;
      try {
        result = await call();
      } catch {
        result = { ok: false, code: "network", error: "Herald could not be reached. Check your connection and try again." };
      }
      pendingOps.current -= 1;
      if (busyIds.length)
        setSaving((s) => {
          const next = new Set(s);
          for (const id of busyIds) next.delete(id);
          return next;
        });
      if (!result.ok) {
        // roll back this change only: later optimistic changes are re-applied by the reload below
        modelRef.current = before;
        setModel(before);
        setProgress("");
        setError(`${label.doing.replace(/…$/, "")} failed: ${result.error}`);
        return false;
      }
      setProgress(label.done);
      if (pendingOps.current === 0) {
        const fresh = await actions.loadAddressBook().catch(() => null);
        if (fresh?.ok && pendingOps.current === 0) {
          modelRef.current = fresh.data;
          setModel(fresh.data);
        }
      }
      return true;
    },
    [actions],
  );

  // changed in another tab, from Blink or by the operator (xcap-diff): show it; own edits reload in mutate
  useDocumentsChanged(ADDRESS_BOOK_AUIDS, async () => {
    if (pendingOps.current > 0) return;
    const fresh = await actions.loadAddressBook();
    if (fresh.ok && pendingOps.current === 0) setModel((modelRef.current = fresh.data));
  });

  const blockedSet = useMemo(() => new Set(model.presence.blocked), [model]);

  const shown = useMemo(() => {
    const map = new Map<string, ShownContact>();
    for (const c of model.contacts) {
      const uris = c.uris.map((u) => u.uri);
      const p = presenceFor(c, snap);
      map.set(c.id, {
        contact: c,
        name: contactDisplayName(c.name, uris),
        uris,
        presence: p.presence,
        availability: p.availability,
        blocked: uris.some((u) => blockedSet.has(u)),
      });
    }
    return map;
  }, [model, snap, blockedSet]);

  // last seen online (kept per user) and the last picture each contact published
  useEffect(() => {
    if (!snap.contactsLive) return;
    const t = Date.now();
    let seenChanged = false;
    const icons: Record<string, string> = {};
    const online = new Set<string>();
    for (const [uri, p] of snap.contacts) {
      if (isOnline(p.availability as ShownAvailability) && !p.stale) online.add(uri);
      // seen until the moment they went offline (or now, while online)
      else if (wasOnline.current.has(uri)) {
        lastSeen.current[uri] = p.lastChange ?? t;
        seenChanged = true;
      }
      if (p.summary?.iconUrl) icons[uri] = p.summary.iconUrl;
    }
    for (const uri of online) lastSeen.current[uri] = t;
    if (online.size) seenChanged = true;
    wasOnline.current = online;
    if (seenChanged) writeJson(SEEN_KEY + self, lastSeen.current);
    setLastIcons((prev) => {
      if (Object.entries(icons).every(([k, v]) => prev[k] === v)) return prev;
      const next = { ...prev, ...icons };
      writeJson(ICONS_KEY + self, next);
      return next;
    });
  }, [snap.contacts, snap.contactsLive, self]);

  const seenFor = useCallback(
    (c: ShownContact): string | undefined => {
      if (!now) return undefined;
      const idleSince = c.presence?.summary?.idleSince ? Date.parse(c.presence.summary.idleSince) : NaN;
      if (isOnline(c.availability) && Number.isFinite(idleSince)) return seenText("idle", idleSince, now);
      if (c.availability === "offline") {
        const at = Math.max(0, ...c.uris.map((u) => lastSeen.current[u] ?? 0));
        if (at) return seenText("seen", at, now);
      }
      return undefined;
    },
    [now],
  );

  const q = query.trim();
  const sections = useMemo(() => {
    const groups = model.groups.map((g) => {
      const members = g.contactIds.map((id) => shown.get(id)).filter((x): x is ShownContact => Boolean(x));
      return { id: g.id, group: g as Group | null, name: g.name, members };
    });
    const grouped = new Set(model.groups.flatMap((g) => g.contactIds));
    const loose = [...shown.values()].filter((c) => !grouped.has(c.contact.id));
    if (loose.length || !model.groups.length) groups.push({ id: UNGROUPED, group: null, name: model.groups.length ? "Other contacts" : "Contacts", members: loose });
    return groups.map((s) => ({
      ...s,
      online: s.members.filter((m) => isOnline(m.availability)).length,
      visible: s.members.filter((m) => matches(m, q) && (view.showOffline || q || isOnline(m.availability))).sort(view.sort === "name" ? byName : byPresenceThenName),
    }));
  }, [model, shown, q, view]);

  const policyUris = useMemo(() => new Set(model.policies.filter((p) => p.presence.policy !== "default").map((p) => p.uri)), [model]);
  const requests = useMemo(
    () =>
      snap.pendingWatchers.filter((w) => {
        if (w.uri === self || handled.has(w.uri) || blockedSet.has(w.uri) || policyUris.has(w.uri)) return false;
        const c = model.contacts.find((x) => x.uris.some((u) => u.uri === w.uri));
        return !c || c.presence.policy === "default";
      }),
    [snap.pendingWatchers, handled, blockedSet, policyUris, model, self],
  );

  const blocked = useMemo(
    () =>
      model.presence.blocked.map((uri) => {
        const c = model.contacts.find((x) => x.uris.some((u) => u.uri === uri));
        const p = model.policies.find((x) => x.uri === uri);
        return { uri, name: c?.name || p?.name || uri.replace(/^sips?:/, "") };
      }),
    [model],
  );

  // ---- actions

  function addContact(v: ContactFormValues) {
    const id = ops.tempId("contact");
    const presence = { policy: v.allow ? ("allow" as const) : ("default" as const), subscribe: v.subscribe };
    const who = v.name || v.uri.replace(/^sips?:/, "");
    void mutate(
      { doing: `Adding ${who}…`, done: `${who} added.` },
      (m) => ops.addContactOptimistic(m, { name: v.name, uri: v.uri, group: v.group, presence }, id),
      async () => {
        const r = await actions.addContact({ name: v.name || undefined, uris: [v.uri], groups: v.group ? [v.group] : undefined, presence });
        if (r.ok) client?.resync();
        return r;
      },
      [id],
    );
  }

  function editContact(c: Contact, v: ContactFormValues) {
    const first = ops.normalizeAddress(v.uri);
    const uris = [first, ...c.uris.map((u) => u.uri).filter((u) => u !== c.uris[0]?.uri && u !== first)];
    // a blocked contact stays blocked unless the user ticks "let them see my status"
    const policy = v.allow ? "allow" : c.presence.policy === "block" ? "block" : "default";
    const presence = { policy, subscribe: v.subscribe } as const;
    const who = v.name || first.replace(/^sips?:/, "");
    void mutate(
      { doing: `Saving ${who}…`, done: `${who} saved.` },
      (m) => ops.editContactOptimistic(m, c.id, { name: v.name, uris, presence }),
      () => actions.editContact(c.id, { name: v.name, uris, presence }),
      [c.id],
    );
  }

  function setGroups(c: Contact, groupIds: string[]) {
    const names = groupIds.map((id) => model.groups.find((g) => g.id === id)?.name).filter(Boolean);
    const target = names.length ? names.join(", ") : "no group";
    const who = c.name || (c.uris[0]?.uri ?? "").replace(/^sips?:/, "");
    void mutate(
      { doing: `Putting ${who} in ${target}…`, done: `${who} is in ${target}.` },
      (m) => ops.setGroupsOptimistic(m, c.id, groupIds),
      () => actions.editContact(c.id, { groups: groupIds }),
      [c.id],
    );
  }

  function deleteContact(c: Contact) {
    const who = c.name || (c.uris[0]?.uri ?? "").replace(/^sips?:/, "");
    void mutate(
      { doing: `Deleting ${who}…`, done: `${who} deleted.` },
      (m) => ops.deleteContactOptimistic(m, c.id),
      () => actions.deleteContact(c.id),
    );
  }

  function createGroup(name: string) {
    const id = ops.tempId("group");
    void mutate({ doing: `Creating group ${name}…`, done: `Group ${name} created.` }, (m) => ops.createGroupOptimistic(m, name, id), () => actions.createGroup(name));
  }

  function renameGroup(g: Group, name: string) {
    void mutate({ doing: `Renaming ${g.name}…`, done: `Group renamed to ${name}.` }, (m) => ops.renameGroupOptimistic(m, g.id, name), () => actions.renameGroup(g.id, name));
  }

  function deleteGroup(g: Group) {
    void mutate({ doing: `Deleting group ${g.name}…`, done: `Group ${g.name} deleted.` }, (m) => ops.deleteGroupOptimistic(m, g.id), () => actions.deleteGroup(g.id));
  }

  function setPolicy(uri: string, action: "allow" | "block" | "unblock", who: string) {
    const words = { allow: ["Allowing", "allowed"], block: ["Blocking", "blocked"], unblock: ["Unblocking", "unblocked"] }[action];
    // only an answered request is hidden until winfo catches up: blocking a contact who is not
    // asking must not hide the request he makes after a later unblock
    if (action !== "unblock" && requests.some((w) => w.uri === uri)) setHandled((h) => new Set([...h, uri]));
    void mutate({ doing: `${words[0]} ${who}…`, done: `${who} ${words[1]}.` }, (m) => ops.setUriPolicyOptimistic(m, uri, action), () => actions.setUriPolicy(uri, action)).then((ok) => {
      if (!ok) unhandle(uri);
    });
  }

  function unhandle(uri: string) {
    setHandled((h) => {
      const next = new Set(h);
      next.delete(uri);
      return next;
    });
  }

  function acceptRequest(w: WatcherEntry) {
    const who = w.displayName || w.uri.replace(/^sips?:/, "");
    const id = ops.tempId("contact");
    setHandled((h) => new Set([...h, w.uri]));
    void mutate(
      { doing: `Allowing ${who}…`, done: `${who} can now see your status.` },
      (m) => ops.acceptWatcherOptimistic(m, w.uri, w.displayName ?? "", id),
      async () => {
        const r = await actions.acceptWatcher(w.uri, w.displayName || undefined);
        if (r.ok) client?.resync();
        return r;
      },
      [id],
    ).then((ok) => {
      if (!ok) unhandle(w.uri);
    });
  }

  function addRequestToContact(w: WatcherEntry, contactId: string) {
    const c = model.contacts.find((x) => x.id === contactId);
    if (!c) return;
    const uris = [...c.uris.map((u) => u.uri), w.uri];
    const who = c.name || (c.uris[0]?.uri ?? "").replace(/^sips?:/, "");
    setHandled((h) => new Set([...h, w.uri]));
    void mutate(
      { doing: `Adding ${w.uri.replace(/^sips?:/, "")} to ${who}…`, done: `${w.uri.replace(/^sips?:/, "")} added to ${who}.` },
      (m) => ops.editContactOptimistic(m, c.id, { uris, presence: { policy: "allow" } }),
      () => actions.editContact(c.id, { uris, presence: { policy: "allow", subscribe: c.presence.subscribe } }),
      [c.id],
    ).then((ok) => {
      if (!ok) unhandle(w.uri);
    });
  }

  const realGroups = model.groups.filter((g) => !ops.isPendingId(g.id));
  const anyVisible = sections.some((s) => s.visible.length);
  const totalOnline = [...shown.values()].filter((c) => isOnline(c.availability)).length;
  const firstRun = model.contacts.length === 0 && model.groups.length === 0;

  // ---- attention: title, favicon badge, desktop notifications
  // requests and unread messages: what waits for the user ("(3) Buddy list — Herald", favicon badge)
  useRequestBadge(requests.length + useTotalUnread());
  useOncePerKey(
    requests.map((w) => w.uri),
    `herald.notifiedRequests:${self}`,
    (uri) => {
      const w = requests.find((x) => x.uri === uri);
      const who = w?.displayName || uri.replace(/^sips?:/, "");
      attention.notify("New contact request", `${who} wants to see your status`, `request:${uri}`);
    },
  );
  const onlineKeys = useMemo(() => [...shown.values()].filter((c) => isOnline(c.availability)).map((c) => c.contact.id), [shown]);
  useNewKeys(onlineKeys, snap.contactsLive, (id) => {
    if (!attention.settings.online) return;
    const c = shown.get(id);
    if (c) attention.notify(`${c.name} is online`, c.presence?.summary?.note ?? "", `online:${id}`);
  });

  // ---- roving tabindex over the rows on screen
  const rowKeys = useMemo(() => sections.flatMap((s) => (q || !collapsed.has(s.id) ? s.visible.map((c) => `${s.id}:${c.contact.id}`) : [])), [sections, q, collapsed]);
  const tabStop = focusKey && rowKeys.includes(focusKey) ? focusKey : (rowKeys[0] ?? null);

  function onListKey(e: React.KeyboardEvent<HTMLDivElement>) {
    const t = e.target as HTMLElement;
    const rowKey = t.getAttribute("data-row-key");
    const inMenuButton = t.hasAttribute("data-row-menu");
    if (inMenuButton && e.key === "ArrowLeft") {
      e.preventDefault();
      t.closest("li")?.querySelector<HTMLElement>("[data-row-key]")?.focus();
      return;
    }
    if (!rowKey) return;
    const rows = Array.from(e.currentTarget.querySelectorAll<HTMLElement>("[data-row-key]"));
    const i = rows.indexOf(t);
    let to: HTMLElement | undefined;
    if (e.key === "ArrowDown") to = rows[Math.min(rows.length - 1, i + 1)];
    else if (e.key === "ArrowUp") to = rows[Math.max(0, i - 1)];
    else if (e.key === "Home") to = rows[0];
    else if (e.key === "End") to = rows[rows.length - 1];
    else if (e.key === "ArrowRight") to = t.closest("li")?.querySelector<HTMLElement>("[data-row-menu]") ?? undefined;
    if (!to) return;
    e.preventDefault();
    to.focus();
  }

  return (
    <div>
      <div className="flex flex-wrap items-end gap-2 border-b border-slate-200 p-3">
        <div className="min-w-0 flex-1 basis-48">
          <label htmlFor={searchId} className="sr-only">
            Search contacts
          </label>
          <input
            id={searchId}
            ref={searchRef}
            type="search"
            placeholder="Search contacts (press /)"
            autoComplete="off"
            aria-keyshortcuts="/"
            className={`${field} mt-0`}
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape" && query) {
                e.preventDefault();
                setQuery("");
              }
            }}
            data-testid="contact-search"
          />
        </div>
        <button type="button" className={btn.primary} onClick={() => setDialog({ kind: "add" })}>
          <span aria-hidden="true">+</span> Add contact
        </button>
        <button type="button" className={btn.secondary} onClick={() => setDialog({ kind: "new-group" })}>
          New group
        </button>
        <div className="flex w-full flex-wrap items-center gap-x-4 gap-y-1 text-sm text-slate-700">
          <label className="flex items-center gap-1.5">
            <input type="checkbox" className="h-4 w-4" checked={view.showOffline} onChange={(e) => changeView({ showOffline: e.target.checked })} data-testid="show-offline" />
            Show offline contacts
          </label>
          <label className="flex items-center gap-1.5 whitespace-nowrap">
            Sort by
            <select className={`${field} mt-0 w-auto py-0.5`} value={view.sort} onChange={(e) => changeView({ sort: e.target.value as SortOrder })} data-testid="sort-order">
              <option value="status">Status</option>
              <option value="name">Name</option>
            </select>
          </label>
          {attention.permission === "default" ? (
            <button type="button" className={btn.ghost} onClick={() => void attention.enable()} data-testid="enable-notifications">
              Turn on desktop notifications
            </button>
          ) : null}
          {attention.permission === "granted" ? (
            <label className="flex items-center gap-1.5">
              <input type="checkbox" className="h-4 w-4" checked={attention.settings.online} onChange={(e) => attention.setOnline(e.target.checked)} data-testid="notify-online" />
              Notify me when contacts come online
            </label>
          ) : null}
        </div>
      </div>

      <div className="px-3 pt-2">
        <p role="status" data-testid="action-status" className="min-h-5 text-sm text-slate-700">
          {progress}
        </p>
        {error ? (
          <div role="alert" data-testid="action-error" className="mt-1 flex items-start justify-between gap-2 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-900">
            <span>{error}</span>
            <button type="button" className={btn.ghost} onClick={() => setError(null)}>
              Dismiss<span className="sr-only"> error</span>
            </button>
          </div>
        ) : null}
        <p className="sr-only" aria-live="off">
          {totalOnline} of {shown.size} contacts online.
        </p>
      </div>

      {requests.length ? (
        <section aria-labelledby={`${searchId}-requests`} className="mx-3 mt-2 rounded-md border border-blue-200 bg-blue-50" data-testid="requests">
          <h2 id={`${searchId}-requests`} className="px-3 pt-2 text-sm font-semibold text-blue-900">
            New contact requests <span className="font-normal">({requests.length})</span>
          </h2>
          <ul className="divide-y divide-blue-100">
            {requests.map((w) => (
              <RequestRow
                key={w.uri}
                watcher={w}
                contacts={model.contacts.filter((c) => !ops.isPendingId(c.id))}
                xcap={xcap}
                onAllow={() => acceptRequest(w)}
                onBlock={() => setPolicy(w.uri, "block", w.displayName || w.uri.replace(/^sips?:/, ""))}
                onAddTo={(id) => addRequestToContact(w, id)}
              />
            ))}
          </ul>
        </section>
      ) : null}

      {firstRun ? (
        <div className="mx-3 mt-2 rounded-md border border-slate-200 bg-slate-50 px-4 py-3 text-sm text-slate-800" data-testid="first-run">
          <h2 className="font-semibold text-slate-900">Welcome to your buddy list</h2>
          <ul className="mt-1 list-disc space-y-1 pl-5">
            <li>
              <strong>Add your first contact</strong> with &ldquo;Add contact&rdquo; and their SIP address (bob@example.com). You see their status once they allow
              it.
            </li>
            <li>
              A <strong>contact request</strong> appears at the top when someone wants to see your status: allow or block them there.
            </li>
            <li>Set your own status and note above the list; groups keep a long list tidy.</li>
          </ul>
        </div>
      ) : null}

      <div className="py-2" onKeyDown={onListKey}>
        {sections.map((s) => {
          if (q && !s.visible.length) return null;
          if (firstRun) return null;
          const isCollapsed = !q && collapsed.has(s.id);
          const headingId = `${searchId}-g-${s.id}`;
          const listId = `${searchId}-l-${s.id}`;
          return (
            <section key={s.id} aria-labelledby={headingId} data-testid={`group-${s.name}`} className="mt-1">
              <div className="flex items-center gap-1 px-3">
                <h2 id={headingId} className="min-w-0 flex-1">
                  <button
                    type="button"
                    aria-expanded={!isCollapsed}
                    aria-controls={listId}
                    onClick={() => toggleGroup(s.id)}
                    className="flex w-full items-center gap-2 rounded px-1 py-1.5 text-left text-sm font-semibold text-slate-800 hover:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600"
                  >
                    <svg aria-hidden="true" width="10" height="10" viewBox="0 0 10 10" className={`transition-transform ${isCollapsed ? "" : "rotate-90"}`}>
                      <path d="M3 1l4 4-4 4" fill="none" stroke="currentColor" strokeWidth="1.6" />
                    </svg>
                    <span className="truncate">{s.name}</span>
                    <span className="font-normal text-slate-600" data-testid="group-count">
                      <span aria-hidden="true">
                        {s.online}/{s.members.length}
                      </span>
                      <span className="sr-only">
                        , {s.online} of {s.members.length} online
                      </span>
                    </span>
                  </button>
                </h2>
                {s.group && !ops.isPendingId(s.group.id) ? (
                  <Menu
                    label={`Actions for group ${s.name}`}
                    testId="group-actions"
                    items={[
                      { label: "Rename", srLabel: `group ${s.name}`, onSelect: () => setDialog({ kind: "rename-group", group: s.group! }) },
                      { label: "Delete", srLabel: `group ${s.name}`, onSelect: () => setDialog({ kind: "delete-group", group: s.group! }) },
                    ]}
                  />
                ) : null}
              </div>
              {isCollapsed ? null : (
                <ul id={listId} className="mx-2 mt-1 rounded-md border border-slate-200 bg-white sm:mx-3">
                  {s.visible.length ? (
                    (rowsReady ? s.visible : []).map((c) => {
                      const rowKey = `${s.id}:${c.contact.id}`;
                      return (
                        <ContactRow
                          key={c.contact.id}
                          contactId={c.contact.id}
                          rowKey={rowKey}
                          focusable={rowKey === tabStop}
                          entry={c.contact}
                          name={c.name}
                          uris={c.uris}
                          presence={c.presence}
                          availability={c.availability}
                          subscribed={c.contact.presence.subscribe}
                          blocked={c.blocked}
                          saving={saving.has(c.contact.id) || ops.isPendingId(c.contact.id)}
                          xcap={xcap}
                          iconUrl={c.presence?.summary?.iconUrl ?? c.uris.map((u) => lastIcons[u]).find(Boolean)}
                          seen={seenFor(c)}
                          onFocusRow={setFocusKey}
                          onEdit={() => setDialog({ kind: "edit", contact: c.contact })}
                          onGroups={() => setDialog({ kind: "groups", contact: c.contact })}
                          onDelete={() => setDialog({ kind: "delete", contact: c.contact })}
                          onBlock={() => setPolicy(c.uris[0] ?? "", c.blocked ? "unblock" : "block", c.name)}
                        />
                      );
                    })
                  ) : (
                    <li className="px-3 py-2 text-sm text-slate-600">
                      {s.members.length ? "Everyone here is offline (offline contacts are hidden)." : s.group ? "No contacts in this group yet: use a contact's Groups… action to put them here." : "No contacts yet."}
                    </li>
                  )}
                </ul>
              )}
            </section>
          );
        })}
        {q && !anyVisible ? (
          <p className="px-3 py-4 text-sm text-slate-600" data-testid="no-matches">
            No contacts match &ldquo;{q}&rdquo;.
          </p>
        ) : null}
      </div>

      {blocked.length ? (
        <section aria-labelledby={`${searchId}-blocked`} className="mx-3 mb-3 mt-2" data-testid="blocked">
          <h2 id={`${searchId}-blocked`} className="px-1 py-1.5 text-sm font-semibold text-slate-800">
            Blocked <span className="font-normal text-slate-600">({blocked.length})</span>
          </h2>
          <ul className="rounded-md border border-slate-200 bg-white">
            {blocked.map((b) => (
              <li key={b.uri} data-testid={`blocked-${b.uri}`} className="flex items-center gap-3 border-b border-slate-100 px-3 py-2 last:border-b-0">
                <svg aria-hidden="true" width="14" height="14" viewBox="0 0 16 16" className="shrink-0">
                  <circle cx="8" cy="8" r="6.5" fill="none" stroke="#b91c1c" strokeWidth="1.6" />
                  <path d="M3.5 12.5l9-9" stroke="#b91c1c" strokeWidth="1.6" />
                </svg>
                <div className="min-w-0 flex-1">
                  <p className="truncate text-sm font-medium text-slate-900">{b.name}</p>
                  <p className="truncate text-xs text-slate-600">{b.uri.replace(/^sips?:/, "")} · cannot see your status</p>
                </div>
                <button type="button" className={btn.secondary} onClick={() => setPolicy(b.uri, "unblock", b.name)}>
                  Unblock<span className="sr-only"> {b.name}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <AddContactDialog open={dialog.kind === "add"} groups={realGroups} defaultGroup={realGroups[0]?.id ?? null} onClose={() => setDialog({ kind: "none" })} onAdd={addContact} />
      <EditContactDialog
        contact={dialog.kind === "edit" ? dialog.contact : null}
        onClose={() => setDialog({ kind: "none" })}
        onSave={(v) => dialog.kind === "edit" && editContact(dialog.contact, v)}
      />
      <GroupsDialog
        contact={dialog.kind === "groups" ? dialog.contact : null}
        groups={realGroups}
        onClose={() => setDialog({ kind: "none" })}
        onSave={(ids) => dialog.kind === "groups" && setGroups(dialog.contact, ids)}
      />
      <ConfirmDialog
        open={dialog.kind === "delete"}
        title={dialog.kind === "delete" ? `Delete ${dialog.contact.name || dialog.contact.uris[0]?.uri.replace(/^sips?:/, "")}?` : "Delete contact?"}
        description="The contact is removed from all groups. Their permission to see your status goes back to your default policy."
        confirm="Delete"
        onClose={() => setDialog({ kind: "none" })}
        onConfirm={() => dialog.kind === "delete" && deleteContact(dialog.contact)}
      />
      <GroupNameDialog open={dialog.kind === "new-group"} title="New group" initial="" submit="Create group" onClose={() => setDialog({ kind: "none" })} onSave={createGroup} />
      <GroupNameDialog
        open={dialog.kind === "rename-group"}
        title="Rename group"
        initial={dialog.kind === "rename-group" ? dialog.group.name : ""}
        submit="Rename"
        onClose={() => setDialog({ kind: "none" })}
        onSave={(name) => dialog.kind === "rename-group" && renameGroup(dialog.group, name)}
      />
      <ConfirmDialog
        open={dialog.kind === "delete-group"}
        title={dialog.kind === "delete-group" ? `Delete group ${dialog.group.name}?` : "Delete group?"}
        description="The group goes away; its contacts stay in your address book."
        confirm="Delete group"
        onClose={() => setDialog({ kind: "none" })}
        onConfirm={() => dialog.kind === "delete-group" && deleteGroup(dialog.group)}
      />
    </div>
  );
}

function RequestRow({
  watcher,
  contacts,
  xcap,
  onAllow,
  onBlock,
  onAddTo,
}: {
  watcher: WatcherEntry;
  contacts: Contact[];
  xcap: XcapLocation | null;
  onAllow: () => void;
  onBlock: () => void;
  onAddTo: (contactId: string) => void;
}) {
  const selectId = useId();
  const [target, setTarget] = useState("");
  const who = watcher.displayName || watcher.uri.replace(/^sips?:/, "");
  return (
    <li data-testid={`request-${watcher.uri}`} className="flex flex-wrap items-center gap-3 px-3 py-2">
      <ContactIcon name={who} xcap={xcap} size={32} />
      <div className="min-w-0 flex-1">
        <p className="truncate text-sm font-medium text-slate-900">{who}</p>
        <p className="truncate text-xs text-slate-700">{watcher.uri.replace(/^sips?:/, "")} wants to see your status</p>
      </div>
      <div className="flex flex-wrap items-center gap-1.5">
        <button type="button" className={btn.primary} onClick={onAllow}>
          Allow<span className="sr-only"> {who}</span>
        </button>
        <button type="button" className={btn.secondary} onClick={onBlock}>
          Block<span className="sr-only"> {who}</span>
        </button>
        {contacts.length ? (
          <form
            className="flex items-center gap-1.5"
            onSubmit={(e) => {
              e.preventDefault();
              if (target) onAddTo(target);
            }}
          >
            <label htmlFor={selectId} className="sr-only">
              Add {who} to an existing contact
            </label>
            <select id={selectId} className={`${field} mt-0 w-40 py-1`} value={target} onChange={(e) => setTarget(e.target.value)}>
              <option value="">Existing contact…</option>
              {contacts.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name || (c.uris[0]?.uri ?? "").replace(/^sips?:/, "")}
                </option>
              ))}
            </select>
            <button type="submit" className={btn.secondary} disabled={!target}>
              Add to contact<span className="sr-only"> for {who}</span>
            </button>
          </form>
        ) : null}
      </div>
    </li>
  );
}
