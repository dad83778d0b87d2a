/**
 * Watcher information (RFC 3857 event package `*.winfo`, RFC 3858 `application/watcherinfo+xml`).
 */
import type { XmlElement } from "../xml";

export type WatcherStatus = "pending" | "active" | "waiting" | "terminated";
export const WATCHER_STATUSES: readonly WatcherStatus[] = ["pending", "active", "waiting", "terminated"];

/** The event that caused the watcher's last status change (RFC 3857 §3.3). */
export type WatcherEvent =
  | "subscribe"
  | "approved"
  | "deactivated"
  | "probation"
  | "rejected"
  | "timeout"
  | "giveup"
  | "noresource";
export const WATCHER_EVENTS: readonly WatcherEvent[] = ["subscribe", "approved", "deactivated", "probation", "rejected", "timeout", "giveup", "noresource"];

export interface Watcher {
  /** Watcher URI (element content). */
  uri: string;
  /** Unique per subscription (RFC 3858 §4). */
  id: string;
  status: WatcherStatus;
  event: WatcherEvent;
  displayName?: string;
  /** Seconds the subscription has existed. */
  durationSubscribed?: number;
  /** Seconds until the subscription expires. */
  expiration?: number;
  lang?: string;
}

export interface WatcherList {
  /** The watched resource, e.g. `sip:alice@example.test`. */
  resource: string;
  /** Event package, e.g. `presence`. */
  package: string;
  watchers: Watcher[];
}

export interface WatcherInfo {
  version: number;
  state: "full" | "partial";
  watcherLists: WatcherList[];
  /** Unknown top-level / watcher-list extension elements (parse side). */
  extensions?: XmlElement[];
}
