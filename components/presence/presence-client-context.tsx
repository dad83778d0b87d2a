"use client";
/**
 * The page's SIP SIMPLE client as React context: takes the short-lived SIP credentials the page
 * was rendered with (or fetches fresh ones from the portal), starts one HeraldSipClient per tab
 * and exposes its PresenceStore.
 *
 * One client per tab, not per page: the buddy list and My Presence each mount a provider, and a
 * client-side navigation between them unmounts one and mounts the other in the same commit. The
 * client is therefore kept in a module-level slot with a reference count and stopped only when
 * no provider has claimed it again shortly after the last one went away (logout, leaving the
 * portal). Closing the tab is handled by the client itself (pagehide → removal PUBLISH).
 */
import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from "react";
import { publishableIconUrl, type XcapLocation } from "./contact-icon";
import { friendlyDeviceName } from "./device-name";
import { HeraldSipClient, PresenceStore, type InstantMessenger, type MyPresence, type MyStatus, type PresenceSnapshot, type SipCredentials } from "@/lib/client";
import { useDocumentChanges } from "@/lib/client/use-document-changes";

import type { PageSipCredentials } from "@/lib/portal/wire-types";
import { sessionEndMessage } from "@/lib/accounts/session-end";
import { signOut } from "next-auth/react";

/** What the UI needs from the client (HeraldSipClient implements it). */
export interface PresenceClient {
  readonly store: PresenceStore;
  /** Instant messages of this tab (absent in clients that do not message). */
  readonly messenger?: InstantMessenger;
  setPresence(patch: Partial<MyPresence>): Promise<void>;
  setStatus(status: MyStatus): Promise<void>;
  setNote(note: string | undefined): Promise<void>;
  setHomepage(homepage: string | undefined): Promise<void>;
  setIcon(iconUrl: string | undefined): Promise<void>;
  setDisplayName(name: string): Promise<void>;
  setAutoAway(idleMinutes: number | false): void;
  resync(): void;
}

interface PresenceContextValue {
  store: PresenceStore;
  client: PresenceClient | null;
}

const PresenceContext = createContext<PresenceContextValue | null>(null);

const SAVED_PRESENCE_KEY = "herald.myPresence";
/** How long a client outlives its last provider (a navigation re-claims it well within this). */
const RELEASE_GRACE_MS = 3000;

interface Slot {
  aor: string;
  store: PresenceStore;
  client: HeraldSipClient | null;
  refs: number;
  releaseTimer?: ReturnType<typeof setTimeout>;
  listeners: Set<() => void>;
  autoAwayMinutes: number;
  unsubscribeSave?: () => void;
  clearTimer?: ReturnType<typeof setTimeout>;
  clearAt?: string;
}

let slot: Slot | null = null;

/**
 * What this tab published last time (status, note, homepage, "clear after" time), so a reload
 * keeps it; a status whose clear-after time passed meanwhile comes back as Available, no note.
 */
function savedPresence(now = Date.now()): Partial<MyPresence> {
  try {
    const raw = window.localStorage.getItem(SAVED_PRESENCE_KEY);
    if (!raw) return {};
    const v = JSON.parse(raw) as Partial<MyPresence>;
    const out: Partial<MyPresence> = {};
    if (typeof v.homepage === "string" && v.homepage) out.homepage = v.homepage;
    const until = typeof v.until === "string" ? Date.parse(v.until) : NaN;
    if (typeof v.until === "string" && !(until > now)) return out;
    if (v.status && ["available", "away", "extended-away", "busy", "invisible"].includes(v.status)) out.status = v.status;
    if (typeof v.note === "string" && v.note) out.note = v.note;
    if (Number.isFinite(until)) out.until = new Date(until).toISOString();
    return out;
  } catch {
    return {};
  }
}

function savePresence(p: MyPresence): void {
  if (p.idle) return; // auto-away is not a choice to restore
  try {
    window.localStorage.setItem(SAVED_PRESENCE_KEY, JSON.stringify({ status: p.status, note: p.note, homepage: p.homepage, until: p.until }));
  } catch {
    // storage full or disabled: nothing to keep
  }
}

/** The longest a timer can wait (setTimeout's 32-bit limit); a later time is re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * "Clear after": when the published presence carries `until`, this tab returns to Available
 * without a note at that time (a reload re-arms it from the saved presence, see savedPresence).
 */
function armClear(s: Slot, until: string | undefined): void {
  if (s.clearAt === until) return;
  s.clearAt = until;
  if (s.clearTimer) clearTimeout(s.clearTimer);
  s.clearTimer = undefined;
  if (!until) return;
  const wait = Date.parse(until) - Date.now();
  const fire = () => {
    s.clearTimer = undefined;
    if (s.clearAt !== until) return;
    if (Date.parse(until) > Date.now()) {
      s.clearAt = undefined;
      armClear(s, until);
      return;
    }
    void s.client?.setPresence({ status: "available", note: "", until: "" });
  };
  s.clearTimer = setTimeout(fire, Math.max(0, Math.min(wait, MAX_TIMER_MS)));
}

function wsUrlFor(path: string): string {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

/** How long the page shows why its session ended before it goes to the login page. */
const SESSION_ENDED_REDIRECT_MS = 2500;

/** Page credentials this close to expiry are not used for a new connection (fetch fresh ones). */
const MIN_CREDENTIALS_LIFETIME_S = 120;

async function fetchCredentials(): Promise<SipCredentials> {
  const res = await fetch("/api/sip-credentials", { cache: "no-store", credentials: "same-origin" });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    throw new Error(body.error ? `SIP credentials refused: ${body.error}` : `SIP credentials refused (${res.status})`);
  }
  return toClientCredentials((await res.json()) as PageSipCredentials);
}

/**
 * The credentials the page came with when they are still good for a while (a page restored from
 * the back/forward cache or the router cache may carry old ones), else fresh ones.
 */
function firstCredentials(fromPage: PageSipCredentials | null): Promise<SipCredentials> {
  if (fromPage && fromPage.expires - Date.now() / 1000 > MIN_CREDENTIALS_LIFETIME_S) return Promise.resolve(toClientCredentials(fromPage));
  return fetchCredentials();
}

function toClientCredentials(c: PageSipCredentials): SipCredentials {
  const out: SipCredentials = { wsUrl: wsUrlFor(c.wsPath), aor: c.aor, authorizationUser: c.authorizationUser, password: c.password, realm: c.realm };
  if (c.displayName) out.displayName = c.displayName;
  return out;
}

function notify(s: Slot) {
  for (const l of [...s.listeners]) l();
}

function claim(aor: string, iconUrl: string | null, autoAwayMinutes: number, pageCredentials: PageSipCredentials | null, renderedDocuments?: Readonly<Record<string, string>>): Slot {
  if (slot && slot.aor !== aor) {
    // another user signed in in this tab: the old client must not linger
    release(slot, true);
  }
  if (slot) {
    if (slot.releaseTimer) clearTimeout(slot.releaseTimer);
    slot.releaseTimer = undefined;
    slot.refs += 1;
    if (slot.autoAwayMinutes !== autoAwayMinutes) {
      slot.autoAwayMinutes = autoAwayMinutes;
      slot.client?.setAutoAway(autoAwayMinutes > 0 ? autoAwayMinutes : false);
    }
    return slot;
  }
  const initial: MyPresence = { status: "available", ...savedPresence() };
  if (iconUrl) initial.iconUrl = iconUrl;
  const s: Slot = { aor, store: new PresenceStore({ myPresence: initial }), client: null, refs: 1, listeners: new Set(), autoAwayMinutes };
  slot = s;
  s.store.setConnection("connecting");
  firstCredentials(pageCredentials)
    .then((credentials) => {
      if (slot !== s || s.refs === 0) return;
      const client = new HeraldSipClient({
        credentials,
        store: s.store,
        initialPresence: initial,
        refreshCredentials: fetchCredentials,
        autoAway: autoAwayMinutes > 0 ? { idleMinutes: autoAwayMinutes } : false,
        deviceDescription: friendlyDeviceName(navigator.userAgent),
        renderedDocuments,
        userAgent: "Herald web",
      });
      s.client = client;
      // the account was disabled, deleted or given a new password, or the operator ended this
      // page's registration: say so, then sign in again (for the operator's, this browser's
      // session is still valid: the page signs it out first)
      let ended: string | undefined;
      client.on("sessionEnded", ({ reason }) => {
        ended = sessionEndMessage(reason);
        s.store.setConnection("offline", ended);
        const signedOut = reason === "operator" ? signOut({ redirect: false }).catch(() => undefined) : Promise.resolve();
        setTimeout(() => void signedOut.then(() => window.location.assign(`/login?ended=${encodeURIComponent(reason)}`)), SESSION_ENDED_REDIRECT_MS);
      });
      // the client's own stop ends in a plain "offline": keep the reason on screen
      client.on("stopped", () => {
        if (ended) s.store.setConnection("offline", ended);
      });
      let last = s.store.getSnapshot().myPresence;
      armClear(s, last.until);
      s.unsubscribeSave = s.store.subscribe(() => {
        const now = s.store.getSnapshot().myPresence;
        if (now !== last) {
          last = now;
          savePresence(now);
          armClear(s, now.until);
        }
      });
      client.start();
      notify(s);
    })
    .catch((err: unknown) => {
      if (slot !== s) return;
      s.store.setConnection("offline", (err as Error).message);
    });
  return s;
}

function release(s: Slot, now = false): void {
  s.refs = Math.max(0, s.refs - 1);
  if (s.refs > 0 && !now) return;
  const stop = () => {
    if (s.refs > 0 && !now) return;
    s.unsubscribeSave?.();
    if (s.clearTimer) clearTimeout(s.clearTimer);
    if (s.client) void s.client.stop();
    if (slot === s) slot = null;
  };
  if (now) stop();
  else s.releaseTimer = setTimeout(stop, RELEASE_GRACE_MS);
}

export interface PresenceProviderProps {
  /** The signed-in user's address (user@domain). */
  address: string;
  /** The icon URL to publish (hash-tagged), or null without an icon. */
  iconUrl: string | null;
  /** Where the XCAP root is (to publish an icon URL others can fetch). */
  xcap: XcapLocation;
  /** Automatic away after this many idle minutes; 0 disables it. */
  autoAwayMinutes: number;
  /** Short-lived SIP credentials issued with the page (null: fetch them). */
  credentials?: PageSipCredentials | null;
  /** The XCAP documents the page was rendered from (document selector → ETag), so a new client does not fetch them again for nothing. */
  renderedDocuments?: Readonly<Record<string, string>>;
  children: ReactNode;
}

/** A store that never changes, rendered on the server and before the client is claimed. */
const SERVER_STORE = new PresenceStore();

export function PresenceProvider({ address, iconUrl, xcap, autoAwayMinutes, credentials = null, renderedDocuments, children }: PresenceProviderProps) {
  const [value, setValue] = useState<PresenceContextValue>({ store: SERVER_STORE, client: null });

  useEffect(() => {
    const s = claim(`sip:${address}`, iconUrl ? publishableIconUrl(iconUrl, xcap) : null, autoAwayMinutes, credentials, renderedDocuments);
    const update = () => setValue({ store: s.store, client: s.client });
    s.listeners.add(update);
    update();
    return () => {
      s.listeners.delete(update);
      release(s);
    };
    // xcap and credentials are fresh objects on every render; xcap's fields are what matter, and
    // credentials and renderedDocuments only seed a new client (a running one renews its own)
  }, [address, iconUrl, autoAwayMinutes, xcap.publicRoot, xcap.localPath, xcap.publicUrlKnown]);

  return <PresenceContext.Provider value={value}>{children}</PresenceContext.Provider>;
}

function usePresenceContext(): PresenceContextValue {
  const ctx = useContext(PresenceContext);
  if (!ctx) throw new Error("usePresence must be used inside <PresenceProvider>");
  return ctx;
}

/** The live presence snapshot (re-renders on every change). */
export function usePresence(): PresenceSnapshot {
  const { store } = usePresenceContext();
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot);
}

/**
 * Run `onChange` when the user's XCAP documents of these application usages changed in another
 * tab, from Blink or another XCAP client, or by the operator (xcap-diff): fetch them again.
 */
export function useDocumentsChanged(auids: readonly string[], onChange: (auids: readonly string[]) => void | Promise<unknown>): void {
  useDocumentChanges(usePresenceContext().store, auids, onChange);
}

/** The running client (null until credentials arrived). */
export function usePresenceClient(): PresenceClient | null {
  return usePresenceContext().client;
}
