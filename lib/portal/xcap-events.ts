/**
 * The process-wide bus of XCAP change events: the XCAP route (inside the Next.js bundle) emits,
 * the embedded presence server (loaded by the custom server) listens. Kept on globalThis because
 * the two load separate copies of this module.
 */
import { EventEmitter } from "node:events";
import type { XcapChangeEvent } from "../xcap/server";

export type XcapChangeListener = (e: XcapChangeEvent) => void;

export interface XcapEventBus {
  emit(e: XcapChangeEvent): void;
  subscribe(listener: XcapChangeListener): () => void;
}

export function xcapEvents(): XcapEventBus {
  const g = globalThis as { __heraldXcapEvents?: XcapEventBus };
  if (!g.__heraldXcapEvents) {
    const ee = new EventEmitter();
    ee.setMaxListeners(0);
    g.__heraldXcapEvents = {
      emit: (e) => ee.emit("change", e),
      subscribe: (l) => {
        ee.on("change", l);
        return () => ee.off("change", l);
      },
    };
  }
  return g.__heraldXcapEvents;
}
