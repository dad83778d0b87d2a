"use client";
/**
 * React binding: run `onChange` when one of the user's XCAP documents of the given application
 * usages changed elsewhere (xcap-diff, `PresenceStore.onDocumentsChanged`) — e.g. fetch the
 * address book again. `onChange` may change between renders; the latest one runs. When it
 * returns a promise, runs never overlap: changes that arrive meanwhile start one more run after it
 * (so an older fetch can never land after a newer one). The first full state counts as a change
 * too: the page was rendered a moment before the subscription, and a change in between would
 * otherwise go unseen.
 */
import { useEffect, useRef } from "react";
import type { PresenceStore } from "./presence-store";

export function useDocumentChanges(
  store: PresenceStore | null,
  auids: readonly string[],
  onChange: (auids: readonly string[]) => void | Promise<unknown>,
): void {
  const latest = useRef(onChange);
  latest.current = onChange;
  const key = auids.join("\n");
  useEffect(() => {
    if (!store) return;
    const wanted = new Set(key.split("\n"));
    let running = false;
    let queued = new Set<string>();
    const run = (changed: readonly string[]) => {
      running = true;
      Promise.resolve()
        .then(() => latest.current(changed))
        .catch(() => undefined)
        .finally(() => {
          running = false;
          if (queued.size === 0) return;
          const next = [...queued];
          queued = new Set();
          run(next);
        });
    };
    return store.onDocumentsChanged((changed) => {
      const hit = changed.filter((a) => wanted.has(a));
      if (hit.length === 0) return;
      if (running) for (const a of hit) queued.add(a);
      else run(hit);
    });
  }, [store, key]);
}
