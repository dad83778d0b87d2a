/**
 * RFC 3903 event state publication for one device (this tab): initial PUBLISH with a body,
 * refresh without a body and `SIP-If-Match`, modify with a body and `SIP-If-Match`, remove with
 * `Expires: 0`. Requests are serialized (one in flight); a newer body replaces a queued one.
 *
 * Outcomes:
 *  - 2xx: remember `SIP-ETag` and the granted Expires, refresh before it runs out.
 *  - 412 Conditional Request Failed: the server lost the publication; send a fresh initial PUBLISH
 *    with the current body (RFC 3903 §6, step 4).
 *  - 423 Interval Too Brief: retry with the response's Min-Expires (RFC 3903 §6, RFC 3261 §21.4.17).
 *  - 401/407 are answered by the transport (JsSIP digest); any other failure leaves the
 *    publication "failed"; 408/5xx/transport errors are retried with exponential backoff.
 */
import { SipClientError } from "./errors";
import { backoffDelay, realTimers, type ClientTimers, type TimerHandle } from "./timers";
import { CONTENT_TYPES } from "../presence/namespaces";

export interface PublishRequest {
  /** Request-URI and To: the presentity (the user's own AOR). */
  target: string;
  event: string;
  expires: number;
  /** SIP-If-Match (refresh, modify, remove). */
  etag?: string;
  body?: string;
  contentType?: string;
}

export interface PublishResponse {
  status: number;
  reason?: string;
  etag?: string;
  expires?: number;
  minExpires?: number;
}

/** Sends one PUBLISH and resolves with its final response; rejects with SipClientError on timeout or transport failure. */
export interface PublishTransport {
  send(request: PublishRequest): Promise<PublishResponse>;
}

export type PublicationState = "idle" | "publishing" | "published" | "failed" | "removed";

export interface PublicationSnapshot {
  state: PublicationState;
  etag?: string;
  /** Epoch ms when the server's copy expires. */
  expiresAt?: number;
  /** Granted expiry in seconds. */
  expires?: number;
  /** Last failure (status 0: no connection/timeout). */
  error?: { status: number; message: string };
}

export interface PublisherOptions {
  transport: PublishTransport;
  /** The presentity, e.g. "sip:alice@example.test". */
  target: string;
  /** Default "presence". */
  event?: string;
  /** Default "application/pidf+xml". */
  contentType?: string;
  /** Requested expiry in seconds (default 600, like Blink). */
  expires?: number;
  timers?: ClientTimers;
  /** First retry delay after a transient failure (default 2000 ms), doubled up to `retryMaxMs` (default 60000). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  random?: () => number;
  onChange?: (snapshot: PublicationSnapshot) => void;
}

type Operation = "publish" | "refresh" | "remove";

const MAX_ATTEMPTS_PER_OPERATION = 4;

/** When to refresh a publication granted for `expires` seconds: half-way, but never later than 90 s before expiry. */
export function refreshDelayMs(expires: number): number {
  return Math.max(1, Math.max(expires * 0.5, expires - 90)) * 1000;
}

export class Publisher {
  readonly target: string;
  private readonly transport: PublishTransport;
  private readonly event: string;
  private readonly contentType: string;
  private readonly requestedExpires: number;
  private readonly timers: ClientTimers;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly random: () => number;
  private readonly onChange?: (s: PublicationSnapshot) => void;

  private body?: string;
  private etag?: string;
  private expires?: number;
  private expiresAt?: number;
  /** Expiry to ask for; raised by 423 Min-Expires. */
  private askExpires: number;
  private state: PublicationState = "idle";
  private error?: { status: number; message: string };
  private wanted?: Operation;
  private running?: Promise<void>;
  private refreshTimer?: TimerHandle;
  private retryTimer?: TimerHandle;
  private retryAttempt = 0;
  private snapshotCache?: PublicationSnapshot;

  constructor(options: PublisherOptions) {
    this.transport = options.transport;
    this.target = options.target;
    this.event = options.event ?? "presence";
    this.contentType = options.contentType ?? CONTENT_TYPES.pidf;
    this.requestedExpires = options.expires ?? 600;
    this.askExpires = this.requestedExpires;
    this.timers = options.timers ?? realTimers;
    this.retryBaseMs = options.retryBaseMs ?? 2000;
    this.retryMaxMs = options.retryMaxMs ?? 60_000;
    this.random = options.random ?? Math.random;
    this.onChange = options.onChange;
  }

  snapshot(): PublicationSnapshot {
    if (!this.snapshotCache) {
      const s: PublicationSnapshot = { state: this.state };
      if (this.etag) s.etag = this.etag;
      if (this.expiresAt !== undefined) s.expiresAt = this.expiresAt;
      if (this.expires !== undefined) s.expires = this.expires;
      if (this.error) s.error = this.error;
      this.snapshotCache = s;
    }
    return this.snapshotCache;
  }

  /** The document last handed to publish(). */
  get currentBody(): string | undefined {
    return this.body;
  }

  /** Publish (initial) or modify (with SIP-If-Match) this document. Resolves when the queue is idle. */
  publish(body: string): Promise<void> {
    this.body = body;
    return this.enqueue("publish");
  }

  /** Send the current document again now (after a reconnect): modify if we hold an ETag, else initial. */
  republish(): Promise<void> {
    if (this.body === undefined || this.state === "removed") return Promise.resolve();
    this.retryAttempt = 0;
    return this.enqueue("publish");
  }

  /** Refresh the publication now (no body, SIP-If-Match). */
  refresh(): Promise<void> {
    if (!this.etag) return this.republish();
    return this.enqueue("refresh");
  }

  /** Remove the publication (Expires: 0, RFC 3903 §4.5). Resolves when done; never rejects. */
  remove(): Promise<void> {
    this.body = undefined;
    this.clearTimers();
    if (!this.etag) {
      this.wanted = undefined;
      this.setState("removed");
      return this.running ?? Promise.resolve();
    }
    return this.enqueue("remove");
  }

  /** Stop timers without sending anything (the UA is going away). */
  dispose(): void {
    this.clearTimers();
    this.wanted = undefined;
  }

  private enqueue(op: Operation): Promise<void> {
    // precedence: remove > publish > refresh (a modify also refreshes)
    const rank = { refresh: 0, publish: 1, remove: 2 } as const;
    if (!this.wanted || rank[op] >= rank[this.wanted]) this.wanted = op;
    if (op !== "remove" && this.state === "removed") this.state = "idle";
    if (!this.running) {
      this.running = this.drain().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.wanted) {
      const op = this.wanted;
      this.wanted = undefined;
      await this.execute(op);
    }
  }

  private async execute(op: Operation): Promise<void> {
    if (this.retryTimer !== undefined) {
      this.timers.clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    let kind: Operation | "initial" = op === "publish" && !this.etag ? "initial" : op;
    if (op !== "remove") this.setState("publishing");
    for (let attempt = 0; attempt < MAX_ATTEMPTS_PER_OPERATION; attempt++) {
      if (kind === "refresh" && !this.etag) kind = "initial";
      if ((kind === "initial" || kind === "publish") && this.body === undefined) return;
      const request: PublishRequest = {
        target: this.target,
        event: this.event,
        expires: kind === "remove" ? 0 : this.askExpires,
      };
      if (kind !== "initial" && this.etag) request.etag = this.etag;
      if (kind === "initial" || kind === "publish") {
        request.body = this.body;
        request.contentType = this.contentType;
      }
      let response: PublishResponse;
      try {
        response = await this.transport.send(request);
      } catch (err) {
        const status = err instanceof SipClientError ? err.status : 0;
        if (kind === "remove") return this.removed({ status, message: (err as Error).message });
        this.fail(status, (err as Error).message, true);
        return;
      }
      const { status } = response;
      if (status >= 200 && status < 300) {
        this.retryAttempt = 0;
        this.error = undefined;
        if (kind === "remove") return this.removed();
        // RFC 3903 §4.1: the 2xx carries the entity-tag and the granted expiry
        if (response.etag) this.etag = response.etag;
        this.expires = response.expires ?? request.expires;
        this.expiresAt = this.timers.now() + this.expires * 1000;
        this.scheduleRefresh(this.expires);
        this.setState("published");
        return;
      }
      if (status === 412) {
        // RFC 3903 §6: the ETag is unknown to the server — start over with an initial PUBLISH
        this.forget();
        if (kind === "remove") return this.removed();
        kind = "initial";
        continue;
      }
      if (status === 423 && response.minExpires && response.minExpires > request.expires) {
        // RFC 3903 §6 step 5 / RFC 3261 §21.4.17: retry with at least Min-Expires
        this.askExpires = response.minExpires;
        continue;
      }
      const message = `${status} ${response.reason ?? ""}`.trim();
      if (kind === "remove") return this.removed({ status, message });
      this.fail(status, message, status === 408 || status === 480 || status >= 500);
      return;
    }
    this.fail(0, "too many attempts", true);
  }

  private forget(): void {
    this.etag = undefined;
    this.expires = undefined;
    this.expiresAt = undefined;
    this.clearTimers();
  }

  /** The publication is gone (or will expire on its own when removing it failed). */
  private removed(error?: { status: number; message: string }): void {
    this.forget();
    this.error = error;
    this.setState("removed");
  }

  private fail(status: number, message: string, retry: boolean): void {
    this.error = { status, message };
    this.setState("failed");
    if (retry && this.body !== undefined) {
      const delay = backoffDelay(this.retryAttempt++, this.retryBaseMs, this.retryMaxMs, this.random);
      this.retryTimer = this.timers.setTimeout(() => {
        this.retryTimer = undefined;
        void this.enqueue("publish");
      }, delay);
    }
  }

  private scheduleRefresh(expires: number): void {
    if (this.refreshTimer !== undefined) this.timers.clearTimeout(this.refreshTimer);
    this.refreshTimer = this.timers.setTimeout(() => {
      this.refreshTimer = undefined;
      void this.enqueue("refresh");
    }, refreshDelayMs(expires));
  }

  private clearTimers(): void {
    if (this.refreshTimer !== undefined) this.timers.clearTimeout(this.refreshTimer);
    if (this.retryTimer !== undefined) this.timers.clearTimeout(this.retryTimer);
    this.refreshTimer = undefined;
    this.retryTimer = undefined;
  }

  private setState(state: PublicationState): void {
    this.state = state;
    this.snapshotCache = undefined;
    this.onChange?.(this.snapshot());
  }
}
