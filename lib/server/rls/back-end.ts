/**
 * Back-end subscriptions of the RLS, shared per (list owner, resource): two list subscriptions
 * of the same owner (two browser tabs, or two lists naming the same contact) use one back end.
 *
 * - Local presentities (a served domain): `PresenceServer.subscribeInternal(owner, resource)` —
 *   exactly the authorization path of a SIP SUBSCRIBE from the owner (pres-rules, polite-block's
 *   neutral document, watcher info), with the same body bytes a SIP watcher gets.
 * - Resources a subscribe route takes (the XMPP gateway's domains): internal too, through that route.
 * - Other domains: a SIP SUBSCRIBE through `RemoteSubscriber` (B2BUA role).
 * - Anything else (tel:, unknown schemes): terminated, reason noresource.
 * - A failed subscription: terminated with the reason `failureReason` gives (no such user,
 *   refused, or unreachable).
 */
import { SipError, componentLogger, type SipLogger } from "../../sip";
import type { NotifyBody, InternalSubscription, SubscriptionStatus } from "../event-package";
import type { PresenceServer } from "../presence-server";
import type { RemoteSubscriber } from "./remote-subscriber";

export interface BackEndState {
  status: SubscriptionStatus;
  /** For terminated back ends (RLMI instance `reason`, RFC 4662 §5.2). */
  reason?: string;
  body?: NotifyBody;
}

export type BackEndListener = (resource: string) => void;

export interface BackEndHandle {
  readonly resource: string;
  readonly state: BackEndState;
  /** Resolves once the back end reported its first state. */
  readonly ready: Promise<void>;
  release(): void;
}

interface Entry {
  key: string;
  owner: string;
  resource: string;
  state: BackEndState;
  ready: Promise<void>;
  listeners: Set<BackEndListener>;
  close?: () => void;
  released: boolean;
}

const INITIAL: BackEndState = Object.freeze({ status: "pending" }) as BackEndState;

export interface BackEndPoolOptions {
  server: PresenceServer;
  remote?: RemoteSubscriber;
  logger?: SipLogger;
}

export class BackEndPool {
  private readonly entries = new Map<string, Entry>();
  private readonly o: BackEndPoolOptions;
  private readonly log: SipLogger;

  constructor(options: BackEndPoolOptions) {
    this.o = options;
    this.log = componentLogger("presence:rls", options.logger);
  }

  get size(): number {
    return this.entries.size;
  }

  acquire(owner: string, resource: string, listener: BackEndListener): BackEndHandle {
    const key = `${owner}\u0000${resource}`;
    let e = this.entries.get(key);
    if (!e) {
      e = this.open(key, owner, resource);
      this.entries.set(key, e);
    }
    e.listeners.add(listener);
    const entry = e;
    let released = false;
    return {
      resource,
      get state() {
        return entry.state;
      },
      ready: entry.ready,
      release: () => {
        if (released) return;
        released = true;
        entry.listeners.delete(listener);
        if (entry.listeners.size === 0) this.close(entry);
      },
    };
  }

  /**
   * Warm what a back end of `owner` for `resource` will need (rules decision, composed state) when
   * none is open: a local presentity's caches only — no subscription, nothing a watcher sees.
   */
  async warm(owner: string, resource: string): Promise<void> {
    if (this.entries.has(`${owner}\u0000${resource}`)) return;
    const domain = domainOf(resource);
    if (!domain || !(await this.o.server.servesDomain(domain))) return;
    await this.o.server.warmInternal(owner, resource);
  }

  private close(e: Entry): void {
    if (this.entries.get(e.key) === e) this.entries.delete(e.key);
    e.released = true;
    try {
      e.close?.();
    } catch (err) {
      this.log("error", "closing a back end failed", { resource: e.resource, error: String(err) });
    }
  }

  private update(e: Entry, next: BackEndState): void {
    const cur = e.state;
    // a re-NOTIFY with the same state and bytes changes nothing the list shows
    if (cur.status === next.status && cur.reason === next.reason && sameBody(cur.body, next.body)) return;
    e.state = next;
    for (const l of e.listeners) l(e.resource);
  }

  private open(key: string, owner: string, resource: string): Entry {
    const e: Entry = { key, owner, resource, state: INITIAL, ready: Promise.resolve(), listeners: new Set(), released: false };
    let markReady!: () => void;
    e.ready = new Promise<void>((r) => (markReady = r));
    const domain = domainOf(resource);
    if (!domain) {
      e.state = { status: "terminated", reason: "noresource" };
      markReady();
      return e;
    }
    void (async () => {
      try {
        if ((await this.o.server.servesDomain(domain)) || (await this.o.server.routesResource(resource))) {
          const sub: InternalSubscription = await this.o.server.subscribeInternal(owner, resource, (n) => {
            this.update(e, n.status === "active" ? { status: "active", body: n.body } : { status: n.status, reason: n.reason });
          });
          if (e.released) sub.close();
          else e.close = () => sub.close();
        } else if (this.o.remote) {
          const h = this.o.remote.subscribe(owner, resource, (s) => {
            this.update(e, s);
            markReady();
          });
          if (e.released) h.close();
          else e.close = () => h.close();
          return; // ready on the first NOTIFY (or failure)
        } else {
          this.update(e, { status: "terminated", reason: "noresource" });
        }
      } catch (err) {
        this.log("warn", "back-end subscription failed", { owner, resource, error: err instanceof Error ? err.message : String(err) });
        this.update(e, { status: "terminated", reason: failureReason(err) });
      }
      markReady();
    })();
    return e;
  }
}

/**
 * The RLMI instance reason (RFC 6665 §4.1.3) for a back end that could not be subscribed: the
 * resource does not exist (404/604: `noresource`), it refused (403/603: `rejected`), or it could
 * not be reached — DNS, connection, timeout, 408/480/5xx: `probation`, retried later.
 */
export function failureReason(err: unknown): "noresource" | "rejected" | "probation" {
  if (err instanceof SipError) {
    if (err.status === 404 || err.status === 604) return "noresource";
    if (err.status === 403 || err.status === 603) return "rejected";
  }
  return "probation";
}

/** Lower-cased domain of a `sip:`/`sips:` resource with a user part; undefined for anything else. */
function domainOf(resource: string): string | undefined {
  return /^sips?:[^@]+@([^;:>]+)/i.exec(resource)?.[1]?.toLowerCase();
}

function sameBody(a: NotifyBody | undefined, b: NotifyBody | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.contentType === b.contentType && a.body.equals(b.body);
}
