"use client";
/** React binding: the store's snapshot, re-rendering on change (useSyncExternalStore). */
import { useSyncExternalStore } from "react";
import type { PresenceSnapshot, PresenceStore } from "./presence-store";

export function usePresenceSnapshot(store: PresenceStore): PresenceSnapshot {
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot);
}
