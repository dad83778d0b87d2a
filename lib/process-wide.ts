/**
 * Process-wide objects kept on globalThis: code inside the Next.js bundle and the custom server
 * (lib/cli) load separate copies of the same module, so a module-level object (configuration,
 * database client, limiter, emitter…) would be two. `key` names the object on globalThis.
 * The one way to make such a singleton.
 */
import { EventEmitter } from "node:events";

const slots = globalThis as Record<string, unknown>;

/** The process's one object under `key`, created by `create` the first time. */
export function processWide<T>(key: string, create: () => T): T {
  if (!(key in slots)) slots[key] = create();
  return slots[key] as T;
}

/** Install the process's object under `key` (start-up installs its configuration, tests their database). */
export function setProcessWide<T>(key: string, value: T): void {
  slots[key] = value;
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
