/**
 * The page's own server actions in flight. A `router.refresh()` while one is pending can leave
 * that action's promise unsettled in the App Router, so a refresh caused by a document change
 * (xcap-diff) waits until none is pending (`whenNoActionPending`).
 */
let pending = 0;
const waiters = new Set<() => void>();

/** Run a server action call, counted as pending until it settles. */
export async function trackAction<T>(call: () => Promise<T>): Promise<T> {
  pending++;
  try {
    return await call();
  } finally {
    pending--;
    if (pending === 0) {
      for (const w of [...waiters]) w();
      waiters.clear();
    }
  }
}

/** Resolves once no tracked server action is pending. */
export function whenNoActionPending(): Promise<void> {
  return pending === 0 ? Promise.resolve() : new Promise((resolve) => waiters.add(resolve));
}
