/** Builders for client tests: RLS NOTIFY bodies, watcherinfo documents, a fake clock. */
import { composePidf, composeRlsNotifyBody, composeWatcherInfo, type ExtendedStatus, type InstanceState, type Watcher } from "@/lib/presence";
import type { ClientTimers, TimerHandle } from "@/lib/client";

export const LIST_URI = "sip:alice+presence@example.test";

export interface ResourceSpec {
  uri: string;
  name?: string;
  state?: InstanceState;
  reason?: string;
  /** Presence to include as a body part (active only). */
  status?: ExtendedStatus;
  note?: string;
  noBody?: boolean;
}

export function rlsNotify(version: number, fullState: boolean, resources: ResourceSpec[]): { contentType: string; body: string } {
  const parts: { contentId: string; contentType: string; body: string }[] = [];
  const list = {
    uri: LIST_URI,
    version,
    fullState,
    names: [],
    resources: resources.map((r, i) => {
      const state = r.state ?? "active";
      const inst: { id: string; state: InstanceState; reason?: string; cid?: string } = { id: `i${i}`, state };
      if (r.reason) inst.reason = r.reason;
      if (state === "active" && !r.noBody) {
        inst.cid = `part${version}-${i}@example.test`;
        parts.push({
          contentId: inst.cid,
          contentType: "application/pidf+xml",
          body: composePidf({ entity: r.uri, extended: r.status ?? "available", note: r.note, deviceId: `dev-${i}`, timestamp: "2025-01-01T00:00:00Z" }),
        });
      }
      return { uri: r.uri, names: r.name ? [{ text: r.name }] : [], instances: [inst] };
    }),
  };
  const composed = composeRlsNotifyBody(list, parts);
  return { contentType: composed.contentType, body: composed.text };
}

export function winfo(version: number, state: "full" | "partial", watchers: Partial<Watcher>[]): string {
  return composeWatcherInfo({
    version,
    state,
    watcherLists: [
      {
        resource: "sip:alice@example.test",
        package: "presence",
        watchers: watchers.map((w, i) => ({ id: w.id ?? `w${i}`, uri: w.uri ?? `sip:w${i}@example.test`, status: w.status ?? "pending", event: w.event ?? "subscribe" })),
      },
    ],
  });
}

/** Deterministic timers: advance(ms) runs due callbacks in time order. */
export class FakeClock implements ClientTimers {
  private t = 1_700_000_000_000;
  private seq = 0;
  private readonly queue = new Map<number, { at: number; fn: () => void }>();

  now = (): number => this.t;

  setTimeout = (fn: () => void, ms: number): TimerHandle => {
    const id = ++this.seq;
    this.queue.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  };

  clearTimeout = (h: TimerHandle): void => {
    this.queue.delete(h as number);
  };

  get pending(): number[] {
    return [...this.queue.values()].map((q) => q.at - this.t).sort((a, b) => a - b);
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.queue) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.queue.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}
