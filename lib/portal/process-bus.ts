/** Process-wide event buses (one per `key` for the Next.js bundle and the custom server together). */
import { EventEmitter } from "node:events";
import { processWide } from "../process-wide";

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
