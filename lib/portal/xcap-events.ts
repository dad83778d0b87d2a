/**
 * The process-wide bus of XCAP change events: the XCAP route (inside the Next.js bundle) emits,
 * the embedded presence server (loaded by the custom server) listens.
 */
import type { XcapChangeEvent } from "../xcap/server";
import { processBus, type ProcessBus } from "../process-wide";

export type XcapChangeListener = (e: XcapChangeEvent) => void;
export type XcapEventBus = ProcessBus<XcapChangeEvent>;

export function xcapEvents(): XcapEventBus {
  return processBus<XcapChangeEvent>("__heraldXcapEvents");
}
