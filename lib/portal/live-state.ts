/**
 * The embedded SIP server of this process, for the console's live view. `herald start` registers
 * it; without one (SIP_EMBEDDED=false, or the portal running apart from `herald sip`) the console
 * says that live state is not available here. On globalThis: the Next.js bundle and the custom
 * server load separate copies of this module.
 */
import type { LiveAccountState } from "../server/presence-server";
import { parsePidf, summarizePresence } from "../presence";
import { processWide } from "../process-wide";

export interface LiveStateSource {
  liveState(aor: string): LiveAccountState;
  metrics(): { registrations: number; publications: number; subscriptions: Array<{ event: string; state: string; count: number }> };
  /** The operator's actions (PresenceServer's; `herald start` also closes a bridged page's connection). */
  endRegistration(aor: string, contact: string): Array<{ contact: string; flowPort?: number }>;
  terminateSubscription(aor: string, id: string): boolean;
  clearPublication(aor: string, etag: string): boolean;
}

const holder = () => processWide<{ source?: LiveStateSource }>("__heraldLiveState", () => ({}));

export function setLiveStateSource(source: LiveStateSource | undefined): void {
  holder().source = source;
}

export type LivePublication = LiveAccountState["publications"][number] & { availability: string; note?: string };

export interface LiveAccountView extends Omit<LiveAccountState, "publications"> {
  publications: LivePublication[];
}

/** `address`'s live state with what each publication says, or null when this process has no SIP server. */
export function liveAccountState(address: string): LiveAccountView | null {
  const src = holder().source;
  if (!src) return null;
  const s = src.liveState(`sip:${address}`);
  return {
    ...s,
    publications: s.publications.map((p) => {
      try {
        const sum = summarizePresence(parsePidf(p.pidf));
        return { ...p, availability: sum.availability, note: sum.note };
      } catch {
        return { ...p, availability: "unreadable" };
      }
    }),
  };
}

/** Why a live-state action did nothing: no SIP server in this process, or the thing is already gone. */
export type LiveActionOutcome = "done" | "no-server" | "gone";

/** The operator's actions on one account's live state, through this process's SIP server. */
export const liveStateActions = {
  endRegistration(address: string, contact: string): LiveActionOutcome {
    const src = holder().source;
    if (!src) return "no-server";
    return src.endRegistration(`sip:${address}`, contact).length > 0 ? "done" : "gone";
  },
  terminateSubscription(address: string, id: string): LiveActionOutcome {
    const src = holder().source;
    if (!src) return "no-server";
    return src.terminateSubscription(`sip:${address}`, id) ? "done" : "gone";
  },
  clearPublication(address: string, etag: string): LiveActionOutcome {
    const src = holder().source;
    if (!src) return "no-server";
    return src.clearPublication(`sip:${address}`, etag) ? "done" : "gone";
  },
};
