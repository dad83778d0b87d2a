/**
 * The page's presence state as one observable value: `subscribe(listener)` + `getSnapshot()`,
 * shaped for React's `useSyncExternalStore`. Snapshots are immutable; a new object is made only
 * when something changed, so `getSnapshot()` is stable between changes.
 */
import type { PresenceSummary } from "../presence";
import type { MyPresence, MyStatus } from "./my-presence";
import { myStatusOf } from "./my-presence";
import type { PublicationSnapshot } from "./publisher";
import { EMPTY_RESOURCE_LIST, markResourceListStale, type ContactPresence, type ResourceListState } from "./resource-list-state";
import { activeWatchers, EMPTY_WATCHER_LIST, pendingWatchers, type WatcherEntry, type WatcherListState } from "./watcher-list-state";

/** "online" = registered and subscribed; "reconnecting" = the connection was lost and is being re-established. */
export type ConnectionStatus = "connecting" | "online" | "reconnecting" | "offline";

export interface PresenceSnapshot {
  connection: ConnectionStatus;
  /** Why the client is offline (credentials rejected, stopped, …). */
  error?: string;
  registered: boolean;
  /** Buddy list by contact URI (RLS resources). Stale entries have availability "unknown". */
  contacts: ReadonlyMap<string, ContactPresence>;
  /** True once a full RLS state arrived on the current connection. */
  contactsLive: boolean;
  /** All watcher subscriptions from winfo. */
  watchers: readonly WatcherEntry[];
  /** "New contact requests": pending/waiting watchers, one per URI. */
  pendingWatchers: readonly WatcherEntry[];
  /** "Who can see me": active watchers, one per URI. */
  activeWatchers: readonly WatcherEntry[];
  /** The user's own presence as the server composes it (all devices), live only. */
  self?: PresenceSummary;
  /** What this tab publishes. */
  myPresence: MyPresence;
  /** Picker value derived from the composed own presence (another tab may have changed it). */
  selfStatus?: MyStatus;
  myPublication: PublicationSnapshot;
}

export type PresenceStoreListener = () => void;

/**
 * The user's documents of these application usages changed. `initial`: the subscription's first
 * full state (the page was rendered from the documents a moment before: nothing may have changed).
 */
export type DocumentsListener = (auids: readonly string[], initial: boolean) => void;

interface StoreState {
  connection: ConnectionStatus;
  error?: string;
  registered: boolean;
  resourceList: ResourceListState;
  watcherList: WatcherListState;
  self?: PresenceSummary;
  myPresence: MyPresence;
  myPublication: PublicationSnapshot;
}

function snapshotOf(s: StoreState, ownAor: string | undefined): PresenceSnapshot {
  const snap: PresenceSnapshot = {
    connection: s.connection,
    registered: s.registered,
    contacts: s.resourceList.resources,
    contactsLive: s.resourceList.version !== undefined && ![...s.resourceList.resources.values()].some((c) => c.stale),
    watchers: [...s.watcherList.watchers.values()],
    pendingWatchers: pendingWatchers(s.watcherList, ownAor),
    activeWatchers: activeWatchers(s.watcherList, ownAor),
    myPresence: s.myPresence,
    myPublication: s.myPublication,
  };
  if (s.error) snap.error = s.error;
  if (s.self) {
    snap.self = s.self;
    const status = myStatusOf(s.self.availability);
    if (status) snap.selfStatus = status;
  }
  return snap;
}

export const INITIAL_PRESENCE: MyPresence = { status: "available" };

export class PresenceStore {
  private state: StoreState;
  private snapshot: PresenceSnapshot;
  private readonly listeners = new Set<PresenceStoreListener>();
  private readonly documentListeners = new Set<DocumentsListener>();
  /** The snapshot to render on the server (useSyncExternalStore's getServerSnapshot). */
  readonly serverSnapshot: PresenceSnapshot;

  /** The user's AOR: their own subscriptions are left out of pending/active watchers. */
  readonly aor?: string;

  constructor(initial: { myPresence?: MyPresence; aor?: string } = {}) {
    this.aor = initial.aor;
    this.state = {
      connection: "offline",
      registered: false,
      resourceList: EMPTY_RESOURCE_LIST,
      watcherList: EMPTY_WATCHER_LIST,
      myPresence: initial.myPresence ?? INITIAL_PRESENCE,
      myPublication: { state: "idle" },
    };
    this.snapshot = snapshotOf(this.state, this.aor);
    this.serverSnapshot = this.snapshot;
  }

  /** Register a listener; returns the unsubscribe function. */
  subscribe = (listener: PresenceStoreListener): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  getSnapshot = (): PresenceSnapshot => this.snapshot;

  /**
   * Listen for changes of the user's XCAP documents (xcap-diff): `auids` are the application
   * usages that changed. Not part of the snapshot: the page fetches the documents again.
   */
  onDocumentsChanged = (listener: DocumentsListener): (() => void) => {
    this.documentListeners.add(listener);
    return () => {
      this.documentListeners.delete(listener);
    };
  };

  documentsChanged(auids: readonly string[], initial = false): void {
    for (const l of [...this.documentListeners]) l(auids, initial);
  }

  getServerSnapshot = (): PresenceSnapshot => this.serverSnapshot;

  // ---- writers (used by HeraldSipClient) ----

  setConnection(connection: ConnectionStatus, error?: string): void {
    this.update({ connection, error });
  }

  setRegistered(registered: boolean): void {
    this.update({ registered });
  }

  setResourceList(resourceList: ResourceListState): void {
    this.update({ resourceList });
  }

  setWatcherList(watcherList: WatcherListState): void {
    this.update({ watcherList });
  }

  setSelf(self: PresenceSummary | undefined): void {
    this.update({ self });
  }

  setMyPresence(myPresence: MyPresence): void {
    this.update({ myPresence });
  }

  setPublication(myPublication: PublicationSnapshot): void {
    this.update({ myPublication });
  }

  /** Connection lost: nothing may keep showing as live. */
  markStale(now: number = Date.now()): void {
    this.update({ resourceList: markResourceListStale(this.state.resourceList, now), self: undefined, registered: false });
  }

  private update(patch: Partial<StoreState>): void {
    let changed = false;
    for (const [k, v] of Object.entries(patch) as [keyof StoreState, unknown][]) {
      if (this.state[k] !== v) changed = true;
    }
    if (!changed) return;
    this.state = { ...this.state, ...patch };
    if ("error" in patch && patch.error === undefined) delete this.state.error;
    this.snapshot = snapshotOf(this.state, this.aor);
    for (const l of [...this.listeners]) l();
  }
}
