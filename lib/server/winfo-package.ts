/**
 * Watcher information (RFC 3857 event package `presence.winfo`, RFC 3858 documents).
 *
 * - Only the presentity itself may subscribe to its watcher list (403 otherwise).
 * - The first NOTIFY (and the one after each refresh) has `state="full"`; later ones are
 *   `state="partial"` with just the watchers that changed; `version` counts from 0 per subscription.
 * - Every presence watcher of the presentity has a record (status pending/active/waiting/terminated
 *   and the event that caused it). A pending subscription that ends leaves its watcher `waiting`
 *   (RFC 3857 §3.2) until the rules decide or `waitingRetentionMs` passes.
 * - Offline watcher info (the SER presence handbook's): changes that happen while the presentity
 *   has no winfo subscription are kept and replayed in its next full-state NOTIFY — including
 *   attempts that were rejected or ended meanwhile — then terminated records are dropped.
 */
import { composeWatcherInfo, type Watcher, type WatcherEvent, type WatcherStatus, type SubHandling } from "../presence";
import { SipError, detachString, type SipLogger } from "../sip";
import { createHash } from "node:crypto";
import { canonicalAor } from "./aor";
import type { EventPackage, NotifyBody, PackageNotifier, SubscribeRequestContext, SubscriptionDecision, SubscriptionView } from "./event-package";
import type { StateRow, WriteBehind } from "./state-store";
import { CONTENT_TYPES } from "../presence/namespaces";

export interface WatcherRecord {
  presentity: string;
  uri: string;
  id: string;
  displayName?: string;
  status: WatcherStatus;
  event: WatcherEvent;
  createdAt: number;
  expiresAt?: number;
  updatedAt: number;
  /** Changed while nobody watched the watcher list (offline winfo). */
  unseen?: boolean;
}

export interface WatcherInfoPackageOptions {
  notifier: PackageNotifier;
  now: () => number;
  persist?: WriteBehind;
  logger?: SipLogger;
  /** How long a `waiting` watcher is remembered. Default 7 days. */
  waitingRetentionMs?: number;
  defaultExpires?: number;
  minExpires?: number;
  maxExpires?: number;
}

export class WatcherInfoPackage implements EventPackage {
  readonly name = "presence.winfo";
  readonly acceptTypes = [CONTENT_TYPES.watcherinfo] as const;
  readonly defaultExpires: number;
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly localResource = true;
  readonly stateKinds = ["watcher"] as const;
  private readonly notifier: PackageNotifier;
  private readonly o: WatcherInfoPackageOptions;
  private readonly records = new Map<string, Map<string, WatcherRecord>>();
  /** winfo subscription id → watcher changes not yet sent. */
  private readonly partial = new Map<string, Map<string, Watcher>>();

  constructor(options: WatcherInfoPackageOptions) {
    this.o = options;
    this.notifier = options.notifier;
    this.defaultExpires = options.defaultExpires ?? 3600;
    this.minExpires = options.minExpires ?? 60;
    this.maxExpires = options.maxExpires ?? 3600;
  }

  async authorize(ctx: SubscribeRequestContext): Promise<SubscriptionDecision> {
    // RFC 3857 §5.1: watcher info is for the presentity only
    if (canonicalAor(ctx.resource) !== canonicalAor(ctx.watcher.uri)) throw new SipError(403, "Only the presentity may subscribe to its watcher info");
    return { status: "active" };
  }

  async composeBody(sub: SubscriptionView, state: "full" | "partial"): Promise<NotifyBody | undefined> {
    const presentity = sub.resource;
    const pending = this.partial.get(sub.id);
    this.partial.delete(sub.id);
    const now = this.o.now();
    let watchers: Watcher[];
    let docState: "full" | "partial" = state;
    if (state === "full" || !pending) {
      docState = "full";
      const recs = [...(this.records.get(presentity)?.values() ?? [])];
      watchers = recs.filter((r) => r.status !== "terminated" || r.unseen).map((r) => this.toWatcher(r, now));
      // offline watcher info delivered: forget what ended, clear the marks
      for (const r of recs) {
        if (r.status === "terminated") this.deleteRecord(r);
        else if (r.unseen) {
          r.unseen = false;
          this.persist(r);
        }
      }
    } else {
      watchers = [...pending.values()];
    }
    const xml = composeWatcherInfo({ version: sub.version, state: docState, watcherLists: [{ resource: presentity, package: "presence", watchers }] });
    return { contentType: CONTENT_TYPES.watcherinfo, body: Buffer.from(xml, "utf8") };
  }

  subscriptionEnded(sub: SubscriptionView): void {
    this.partial.delete(sub.id);
  }

  /** A presence watcher of `presentity` changed status (called by the presence package). */
  watcherChanged(presentity: string, sub: Pick<SubscriptionView, "id" | "watcher" | "watcherDisplayName" | "createdAt" | "expiresAt">, status: WatcherStatus, event: WatcherEvent): void {
    const now = this.o.now();
    let m = this.records.get(presentity);
    if (!m) this.records.set(presentity, (m = new Map()));
    const prev = m.get(sub.watcher);
    const rec: WatcherRecord = {
      presentity,
      uri: sub.watcher,
      id: watcherId(presentity, sub.id),
      displayName: sub.watcherDisplayName ?? prev?.displayName,
      status,
      event,
      createdAt: sub.createdAt,
      expiresAt: status === "waiting" ? now + (this.o.waitingRetentionMs ?? 7 * 86_400_000) : sub.expiresAt,
      updatedAt: now,
      // declared up front so that setting it later does not move the record to out-of-object
      // properties (one record per watcher per presentity: this is per-subscription memory)
      unseen: undefined,
    };
    if (prev && prev.id !== rec.id && (prev.status === "active" || prev.status === "pending") && status === "terminated") {
      // another subscription of the same watcher is still live: that one's record stays
      return;
    }
    this.publishChange(rec, m);
  }

  /** Waiting watchers whose rules now decide (allow/block/polite-block) leave the list. */
  async reevaluateWaiting(presentity: string, decide: (watcher: string) => Promise<SubHandling>): Promise<void> {
    const m = this.records.get(presentity);
    if (!m) return;
    for (const r of [...m.values()]) {
      if (r.status !== "waiting") continue;
      const h = await decide(r.uri);
      if (h === "confirm") continue;
      this.publishChange({ ...r, status: "terminated", event: h === "block" ? "rejected" : "approved", updatedAt: this.o.now() }, m);
    }
  }

  /** Records of a presentity (tests/diagnostics). */
  recordsOf(presentity: string): WatcherRecord[] {
    return [...(this.records.get(presentity)?.values() ?? [])];
  }

  restoreState(kind: string, rows: StateRow[]): void {
    if (kind !== "watcher") return;
    const now = this.o.now();
    for (const row of rows) {
      try {
        const r = JSON.parse(row.data) as WatcherRecord;
        if (r.status === "waiting" && r.expiresAt !== undefined && r.expiresAt <= now) {
          this.o.persist?.remove("watcher", row.key);
          continue;
        }
        let m = this.records.get(r.presentity);
        if (!m) this.records.set(r.presentity, (m = new Map()));
        m.set(r.uri, r);
      } catch {
        this.o.persist?.remove("watcher", row.key);
      }
    }
  }

  private publishChange(rec: WatcherRecord, m: Map<string, WatcherRecord>): void {
    const now = this.o.now();
    const subs = this.notifier.subscriptionsOf(this.name, rec.presentity).filter((s) => s.status === "active");
    if (subs.length === 0) rec.unseen = true; // offline winfo: replay on next subscription
    m.set(rec.uri, rec);
    for (const s of subs) {
      let p = this.partial.get(s.id);
      if (!p) this.partial.set(s.id, (p = new Map()));
      p.set(rec.uri, this.toWatcher(rec, now));
      void this.notifier.notify(s, "partial");
    }
    if (rec.status === "terminated" && !rec.unseen) this.deleteRecord(rec);
    else this.persist(rec);
  }

  private toWatcher(r: WatcherRecord, now: number): Watcher {
    return {
      uri: r.uri,
      id: r.id,
      status: r.status,
      event: r.event,
      displayName: r.displayName,
      durationSubscribed: Math.max(0, (now - r.createdAt) / 1000),
      expiration: r.expiresAt !== undefined && Number.isFinite(r.expiresAt) && r.status !== "terminated" ? Math.max(0, (r.expiresAt - now) / 1000) : undefined,
    };
  }

  private deleteRecord(r: WatcherRecord): void {
    const m = this.records.get(r.presentity);
    if (m?.get(r.uri) === r) m.delete(r.uri);
    else if (m?.get(r.uri)?.id === r.id) m.delete(r.uri);
    if (m && m.size === 0) this.records.delete(r.presentity);
    this.o.persist?.remove("watcher", `${r.presentity}|${r.uri}`);
  }

  private persist(r: WatcherRecord): void {
    const key = `${r.presentity}|${r.uri}`;
    this.o.persist?.mark("watcher", key, () => {
      const cur = this.records.get(r.presentity)?.get(r.uri);
      return cur ? { data: JSON.stringify(cur), expiresAt: cur.status === "waiting" ? cur.expiresAt : undefined } : null;
    });
  }
}

function watcherId(presentity: string, subId: string): string {
  // one flat string per record: "w" + a slice would keep a concatenation, the slice and the whole digest
  return detachString("w" + createHash("sha1").update(`${presentity}|${subId}`).digest("hex").slice(0, 16));
}
