/**
 * Client-side state of the owner's watcher-info subscription (RFC 3857 `presence.winfo`,
 * RFC 3858 documents): full state replaces, partial state updates watchers by id within their
 * watcher-list (RFC 3858 §4.3); a version gap means a lost NOTIFY and calls for a re-SUBSCRIBE.
 */
import { parseWatcherInfo, type Watcher, type WatcherInfo } from "../presence";

export interface WatcherEntry extends Watcher {
  /** The watched resource (the user's own AOR). */
  resource: string;
  /** The event package watched ("presence"). */
  package: string;
}

export interface WatcherListState {
  version?: number;
  /** All watcher subscriptions known, by `package\0resource\0id`. */
  watchers: ReadonlyMap<string, WatcherEntry>;
}

export const EMPTY_WATCHER_LIST: WatcherListState = { watchers: new Map() };

export type WinfoNotifyOutcome =
  | { kind: "applied"; state: WatcherListState }
  | { kind: "ignored"; state: WatcherListState; reason: string }
  | { kind: "gap"; state: WatcherListState; expected?: number; got: number };

const keyOf = (w: WatcherEntry) => `${w.package}\u0000${w.resource}\u0000${w.id}`;

export function applyWatcherInfo(state: WatcherListState, info: WatcherInfo): WinfoNotifyOutcome {
  if (info.state === "partial") {
    if (state.version === undefined) return { kind: "gap", state, got: info.version };
    if (info.version <= state.version) return { kind: "ignored", state, reason: `version ${info.version} already applied` };
    if (info.version !== state.version + 1) return { kind: "gap", state, expected: state.version + 1, got: info.version };
  } else if (state.version !== undefined && info.version <= state.version) {
    return { kind: "ignored", state, reason: `full state version ${info.version} not newer than ${state.version}` };
  }
  const watchers = new Map<string, WatcherEntry>(info.state === "full" ? [] : state.watchers);
  for (const list of info.watcherLists) {
    for (const w of list.watchers) {
      const entry: WatcherEntry = { ...w, resource: list.resource, package: list.package };
      watchers.set(keyOf(entry), entry);
    }
  }
  return { kind: "applied", state: { version: info.version, watchers } };
}

/** Parse and merge one `application/watcherinfo+xml` NOTIFY body. Throws PresencePayloadError. */
export function applyWatcherInfoNotify(state: WatcherListState, body: string | Uint8Array): WinfoNotifyOutcome {
  return applyWatcherInfo(state, parseWatcherInfo(body));
}

/** Watchers by URI (one person watching from several devices counts once), most relevant status first. */
function byUri(entries: Iterable<WatcherEntry>, keep: (w: WatcherEntry) => boolean): WatcherEntry[] {
  const out = new Map<string, WatcherEntry>();
  for (const w of entries) if (keep(w) && !out.has(w.uri)) out.set(w.uri, w);
  return [...out.values()];
}

/** Watchers asking for authorization ("New contact requests"): pending or waiting (RFC 3857 §3.2.2). */
export function pendingWatchers(state: WatcherListState, ownAor?: string): WatcherEntry[] {
  const active = new Set([...state.watchers.values()].filter((w) => w.status === "active").map((w) => w.uri));
  return byUri(state.watchers.values(), (w) => (w.status === "pending" || w.status === "waiting") && !active.has(w.uri) && !sameAor(w.uri, ownAor));
}

/** Watchers currently receiving presence ("who can see me"). */
export function activeWatchers(state: WatcherListState, ownAor?: string): WatcherEntry[] {
  return byUri(state.watchers.values(), (w) => w.status === "active" && !sameAor(w.uri, ownAor));
}

/** The user's own subscriptions (other tabs and devices watching themselves) are not watchers to show. */
function sameAor(uri: string, ownAor: string | undefined): boolean {
  if (!ownAor) return false;
  const norm = (u: string) => u.trim().replace(/^<|>$/g, "").split(/[;?]/, 1)[0].toLowerCase();
  return norm(uri) === norm(ownAor);
}
