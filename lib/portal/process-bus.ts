/**
 * A process-wide event bus kept on globalThis: code inside the Next.js bundle and the custom
 * server (lib/cli) load separate copies of the same module, so a module-level emitter would be
 * two emitters. `key` names the bus on globalThis.
 */
import { EventEmitter } from "node:events";

export interface ProcessBus<T> {
  emit(event: T): void;
  subscribe(listener: (event: T) => void): () => void;
}

export function processBus<T>(key: string): ProcessBus<T> {
  const g = globalThis as Record<string, unknown>;
  let bus = g[key] as ProcessBus<T> | undefined;
  if (!bus) {
    const ee = new EventEmitter();
    ee.setMaxListeners(0);
    bus = {
      emit: (e) => ee.emit("event", e),
      subscribe: (l) => {
        ee.on("event", l);
        return () => ee.off("event", l);
      },
    };
    g[key] = bus;
  }
  return bus;
}
