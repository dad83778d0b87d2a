/**
 * The user's xcap-diff subscription (RFC 5875 `xcap-diff` to the own AOR, no body: every document
 * of the user; NOTIFY bodies RFC 5874 `application/xcap-diff+xml`): tells the page which of the
 * user's XCAP documents changed — in another tab, from Blink or another XCAP client, or by the
 * operator — so it can fetch them again.
 *
 * The first full state counts every document in it as changed — the page was rendered from the
 * documents a moment before, and a change in between would otherwise go unseen — unless the page
 * says which ETags it was rendered from: then only documents whose ETag differs count. A later full
 * state (a new dialog after a reconnect or a refresh) is compared with the ETags known: documents
 * whose ETag differs, or that appeared or disappeared, count as changed. Partial NOTIFYs name the
 * changed documents themselves.
 */
import { parseXcapDiff, XCAP_DIFF_TYPE } from "../xcap/diff";
import { EventSubscription, type ClientSubscriptionOptions } from "./event-subscription";

export const XCAP_DIFF_EVENT = "xcap-diff";

export interface XcapDiffSubscriptionOptions extends ClientSubscriptionOptions {
  aor: string;
  /** Application usages (AUIDs) whose documents changed; `initial` for the first full state. */
  onChange: (auids: string[], initial: boolean) => void;
  /** The documents the page was rendered from (document selector → ETag), see XcapDiffTracker. */
  rendered?: Readonly<Record<string, string>>;
}

/** What the page knows of the user's documents, and which changed with each NOTIFY body. */
export class XcapDiffTracker {
  /** Selector → ETag of the documents known; undefined before the first full state. */
  private known?: Map<string, string>;

  /**
   * `rendered`: the documents the page was rendered from (selector → ETag; a document the page
   * read as absent is left out): the first full state is compared with them instead of counting
   * every document as changed.
   */
  constructor(rendered?: Readonly<Record<string, string>>) {
    if (rendered) this.known = new Map(Object.entries(rendered));
  }

  /** The AUIDs a NOTIFY body changed; `full` for the first NOTIFY of a dialog (full state, RFC 5875 §4.4.1). */
  apply(body: string, full: boolean): { auids: string[]; initial: boolean } {
    const diff = parseXcapDiff(body);
    const changed = new Set<string>();
    const initial = this.known === undefined;
    if (full) {
      const next = new Map<string, string>();
      for (const d of diff.documents) {
        if (d.newEtag) next.set(d.sel, d.newEtag);
        if (this.known?.get(d.sel) !== (d.newEtag ?? undefined)) changed.add(d.auid);
      }
      for (const sel of this.known?.keys() ?? []) if (!next.has(sel)) changed.add(sel.split("/")[0] ?? "");
      this.known = next;
    } else {
      this.known ??= new Map();
      for (const d of diff.documents) {
        // a refresh's full state (RFC 6665 §4.2.1.2) in the same dialog repeats what is known
        if (d.newEtag && this.known.get(d.sel) === d.newEtag) continue;
        if (d.newEtag) this.known.set(d.sel, d.newEtag);
        else this.known.delete(d.sel);
        changed.add(d.auid);
      }
    }
    changed.delete("");
    return { auids: [...changed], initial };
  }
}

/** The subscription (start / stop / detach as any `EventSubscription`). */
export function xcapDiffSubscription(options: XcapDiffSubscriptionOptions): EventSubscription {
  const tracker = new XcapDiffTracker(options.rendered);
  /** The next NOTIFY starts a new dialog: its body is full state (RFC 5875 §4.4.1). */
  let expectFull = true;
  return new EventSubscription({
    ua: options.ua,
    target: options.aor,
    event: XCAP_DIFF_EVENT,
    accept: XCAP_DIFF_TYPE,
    expires: options.expires,
    timers: options.timers,
    retryBaseMs: options.retryBaseMs,
    retryMaxMs: options.retryMaxMs,
    onNotify: ({ body, contentType }) => {
      if (!contentType.trim().toLowerCase().startsWith(XCAP_DIFF_TYPE)) return;
      const full = expectFull;
      expectFull = false;
      const { auids, initial } = tracker.apply(body, full);
      if (auids.length > 0) options.onChange(auids, initial);
    },
    onNewDialog: () => {
      expectFull = true;
    },
    onStateChange: options.onSubscriptionState,
  });
}
