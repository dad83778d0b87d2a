/**
 * Process-wide objects kept on globalThis: code inside the Next.js bundle and the custom server
 * (lib/cli) load separate copies of the same module, so a module-level emitter (or limiter, …)
 * would be two. `key` names the object on globalThis.
 */
import { EventEmitter } from "node:events";

/** The process's one object under `key`, created by `create` the first time. */
export function processWide<T>(key: string, create: () => T): T {
  const g = globalThis as Record<string, unknown>;
  if (!(key in g)) g[key] = create();
  return g[key] as T;
}

export interface ProcessBus<T> {
  emit(event: T): void;
  subscribe(listener: (event: T) => void): () => void;
}

export function processBus<T>(key: string): ProcessBus<T> {
  return processWide<ProcessBus<T>>(key, () => {
    const ee = new EventEmitter();
    ee.setMaxListeners(0);
    return {
      emit: (e) => ee.emit("event", e),
      subscribe: (l) => {
        ee.on("event", l);
        return () => ee.off("event", l);
      },
    };
  });
}
