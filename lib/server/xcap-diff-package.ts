/**
 * The `xcap-diff` event package (RFC 5875) with RFC 5874 documents: a user follows changes to
 * their own XCAP documents — whoever makes them (the portal's server actions, an XCAP client
 * such as Blink, the operator), since every write through Herald's XCAP root is on the XCAP
 * change bus.
 *
 * - SUBSCRIBE to one's own AOR only (403 otherwise). The body (`application/resource-lists+xml`,
 *   RFC 5875 §4.3) names the XCAP URIs watched — documents, or directories ending in `/` — as
 *   python-sipsimple (Blink) sends it; every one must be in the subscriber's own tree (403). No
 *   body: every document of the user. Any other body type: 415.
 * - The first NOTIFY (and the one after each refresh, RFC 6665 §4.2.1.2) lists every watched
 *   document that exists with its `new-etag`; each later NOTIFY lists the documents that changed
 *   since the last one with `previous-etag` and `new-etag` ("no-patching", RFC 5875 §4.4: the
 *   subscriber fetches what it needs). Several changes of one document between two NOTIFYs leave
 *   as one entry (the first previous and the last new ETag).
 * - What persists: the watched list (the subscription's slot). After a restart each restored
 *   subscription gets a full-state NOTIFY, so changes made while the server was down are seen.
 */
import { SipError, componentLogger, type SipLogger } from "../sip";
import { XcapError } from "../xcap/errors";
import { XCAP_DIFF_SUBSCRIBE_BODY_TYPE, XCAP_DIFF_TYPE, composeXcapDiff, documentSelector, parseWatchList, watches, type XcapDiffDocument, type XcapWatch } from "../xcap/diff";
import type { XcapChangeEvent, XcapStore } from "../xcap/server";
import { canonicalAor } from "./aor";
import type { EventPackage, NotifyBody, PackageNotifier, SubscribeRequestContext, SubscriptionDecision, SubscriptionView } from "./event-package";

export const XCAP_DIFF_EVENT = "xcap-diff";

export interface XcapDiffPackageOptions {
  notifier: PackageNotifier;
  store: XcapStore;
  /** The XCAP change bus (returns an unsubscribe function). */
  subscribe?: (listener: (e: XcapChangeEvent) => void) => () => void;
  /** Public XCAP root, written as `xcap-root` and accepted as the prefix of absolute URIs. */
  xcapRoot: string;
  /** Expires limits (s). Defaults 3600 / 60 / 3600. */
  defaultExpires?: number;
  minExpires?: number;
  maxExpires?: number;
  logger?: SipLogger;
}

/** A subscription's slot: what it watches (null: every document of the user) and the changes not yet sent. */
interface XcapDiffSlot {
  watch: XcapWatch[] | null;
  pending: Map<string, XcapDiffDocument>;
}

function slotOf(sub: SubscriptionView): XcapDiffSlot | undefined {
  return sub.slot as XcapDiffSlot | undefined;
}

export class XcapDiffPackage implements EventPackage {
  readonly name = XCAP_DIFF_EVENT;
  readonly acceptTypes = [XCAP_DIFF_TYPE] as const;
  readonly localResource = true;
  readonly defaultExpires: number;
  readonly minExpires: number;
  readonly maxExpires: number;
  private readonly o: XcapDiffPackageOptions;
  private readonly log: SipLogger;
  private readonly unsubscribe?: () => void;

  constructor(options: XcapDiffPackageOptions) {
    this.o = options;
    this.defaultExpires = options.defaultExpires ?? 3600;
    this.minExpires = options.minExpires ?? 60;
    this.maxExpires = options.maxExpires ?? 3600;
    this.log = componentLogger("presence:xcap-diff", options.logger);
    this.unsubscribe = options.subscribe?.((e) => this.changed(e));
  }

  async authorize(ctx: SubscribeRequestContext): Promise<SubscriptionDecision> {
    const owner = canonicalAor(ctx.watcher.uri);
    if (canonicalAor(ctx.resource) !== owner) throw new SipError(403, "Only the documents' owner may subscribe to their changes");
    if (ctx.refresh) return { status: "active" };
    return { status: "active", slot: { watch: this.watchList(ctx, owner), pending: new Map() } satisfies XcapDiffSlot };
  }

  /** The watched resources the SUBSCRIBE names (RFC 5875 §4.3); null for every document. */
  private watchList(ctx: SubscribeRequestContext, owner: string): XcapWatch[] | null {
    const req = ctx.request;
    if (!req || req.body.length === 0) return null;
    const type = req.contentType?.value;
    if (type !== XCAP_DIFF_SUBSCRIBE_BODY_TYPE) throw new SipError(415, "Unsupported Media Type", { headers: [["Accept", XCAP_DIFF_SUBSCRIBE_BODY_TYPE]] });
    let list: XcapWatch[];
    try {
      list = parseWatchList(req.bodyText, this.o.xcapRoot);
    } catch (e) {
      if (e instanceof XcapError) throw new SipError(e.status === 403 ? 403 : 400, e.message.slice(0, 120));
      throw e;
    }
    if (list.some((w) => w.xui === null || canonicalAor(w.xui) !== owner)) throw new SipError(403, "Only one's own documents can be watched");
    return list;
  }

  async composeBody(sub: SubscriptionView, state: "full" | "partial"): Promise<NotifyBody | undefined> {
    const slot = slotOf(sub);
    if (!slot) return undefined;
    let documents: XcapDiffDocument[];
    if (state === "full") {
      slot.pending.clear(); // what changed before now is in the listing
      const listing = await this.o.store.listUserDocuments(canonicalAor(sub.resource));
      documents = listing
        .filter((d) => slot.watch === null || slot.watch.some((w) => watches(w, d.key)))
        .map((d) => ({ sel: documentSelector(d.key), newEtag: d.etag }))
        .sort((a, b) => (a.sel < b.sel ? -1 : a.sel > b.sel ? 1 : 0));
    } else {
      documents = [...slot.pending.values()];
      slot.pending.clear();
    }
    return { contentType: XCAP_DIFF_TYPE, body: Buffer.from(composeXcapDiff(this.o.xcapRoot, documents), "utf8") };
  }

  /** A write on the XCAP change bus: queue it for every subscription of the owner that watches the document. */
  private changed(e: XcapChangeEvent): void {
    if (!e.user) return;
    const owner = canonicalAor(e.user);
    const key = { auid: e.auid, scope: "users" as const, xui: e.user, docPath: e.document };
    let sel: string | undefined;
    for (const sub of this.o.notifier.subscriptionsOf(this.name, owner)) {
      const slot = slotOf(sub);
      if (sub.status !== "active" || !slot || (slot.watch !== null && !slot.watch.some((w) => watches(w, key)))) continue;
      sel ??= documentSelector(key);
      const earlier = slot.pending.get(sel);
      // several changes before the next NOTIFY: one entry from the first previous to the last new ETag
      slot.pending.set(sel, { sel, previousEtag: earlier ? earlier.previousEtag : e.previousEtag, newEtag: e.etag });
      void this.o.notifier.notify(sub, "partial");
    }
  }

  saveSlot(sub: SubscriptionView): unknown {
    return { watch: slotOf(sub)?.watch ?? null };
  }

  restoreSlot(data: unknown): XcapDiffSlot {
    const watch = (data as { watch?: unknown }).watch;
    if (watch !== null && !Array.isArray(watch)) throw new Error("no watch list");
    return { watch: watch as XcapWatch[] | null, pending: new Map() };
  }

  /** Changes made while the server was down are unknown: every restored subscription gets full state. */
  restored(subs: SubscriptionView[]): void {
    for (const s of subs) if (s.status === "active") void this.o.notifier.notify(s, "full");
    if (subs.length) this.log("info", "restored subscriptions", { count: subs.length });
  }

  dispose(): void {
    this.unsubscribe?.();
  }
}
