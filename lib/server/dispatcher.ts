/**
 * The SIP request dispatcher: server transactions (RFC 3261 §17.2), one handler per method,
 * error mapping, and response batching. Knows no event package: handlers (lib/server/handlers)
 * and packages do the work.
 *
 * Every request gets a final response, and nothing that goes wrong while handling one can end
 * the process: a failure anywhere on its way (dispatch, building the response, sending it, the
 * post-response action) is logged and, while the request is still unanswered, answered 500.
 */
import {
  NonInviteServerState,
  SipError,
  SipParseError,
  createResponse,
  generateTag,
  serializeMessage,
  type NonInviteServerTransaction,
  type SipConnection,
  type SipLogger,
  componentLogger,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type TransactionLayer,
} from "../sip";
import { PresencePayloadError } from "../presence";

/** A request's response, and what to do once it is sent (a rejection of what `after` returns is logged). */
export type Outcome = { response: SipResponse; after?: () => void | Promise<unknown> };

/** Handles one method's requests. Throws `SipError` (or returns a challenge) for failures. */
export type MethodHandler = (request: SipRequest, conn: SipConnection) => Promise<Outcome>;

export interface SipDispatcherOptions {
  transactions: TransactionLayer;
  /** Handlers by method (REGISTER, PUBLISH, ...); other methods get 405 with `Allow`. */
  handlers: Map<string, MethodHandler>;
  logger?: SipLogger;
}

export class SipDispatcher {
  private readonly o: SipDispatcherOptions;
  private readonly log: SipLogger;
  /** The methods handled, for `Allow` (RFC 3261 §20.5). */
  allow: string;

  /**
   * While a request's outcome is being sent, messages for its connection are collected here and
   * written together (the 200 to a SUBSCRIBE and its first NOTIFY: one write, one segment).
   */
  private batch?: { conn: SipConnection; parts: Buffer[] };

  constructor(options: SipDispatcherOptions) {
    this.o = options;
    this.log = componentLogger("presence:server", options.logger);
    this.allow = [...options.handlers.keys()].join(", ");
  }

  /** Handle `method` (upper case) with a plugged-in module (MESSAGE, ...); it joins `Allow`. */
  addHandler(method: string, handler: MethodHandler): void {
    this.o.handlers.set(method, handler);
    this.allow = [...this.o.handlers.keys()].join(", ");
  }

  /** Send `message` on `conn`, batched with the response being sent on it (see `batch`). */
  write(conn: SipConnection, message: SipMessage): void {
    const b = this.batch;
    if (b === undefined || b.conn !== conn) return conn.send(message);
    // a closed connection fails now, as an unbatched send would (transport error for the transaction)
    if (conn.closed) throw new Error(`connection ${conn.id} is closed`);
    b.parts.push(serializeMessage(message));
  }

  private flushBatch(): void {
    const b = this.batch;
    this.batch = undefined;
    if (!b || b.parts.length === 0) return;
    try {
      b.conn.sendAll(b.parts);
    } catch (e) {
      this.log("debug", "could not send", { error: String(e) });
    }
  }

  onRequest(request: SipRequest, conn: SipConnection): void {
    const send = (r: SipResponse) => this.write(conn, r);
    let disposition: ReturnType<TransactionLayer["receiveRequest"]>;
    try {
      disposition = this.o.transactions.receiveRequest(request, { send, reliable: true });
    } catch (e) {
      this.log("error", "request failed", { method: request.method, error: errorText(e) });
      this.trySend(conn, () => createResponse(request, 500, { toTag: request.to.tag === undefined ? generateTag() : undefined }));
      return;
    }
    if (disposition.kind === "retransmission") return;
    if (disposition.kind === "stateless") {
      if (request.method === "ACK") return;
      this.trySend(conn, () => createResponse(request, request.method === "CANCEL" ? 481 : 405, { toTag: generateTag(), headers: [["Allow", this.allow]] }));
      return;
    }
    const tx = disposition.transaction;
    this.dispatch(request, conn)
      .then((outcome) => this.complete(tx, request, conn, outcome))
      .catch((e: unknown) => {
        // dispatch answers its own errors: this is a failure building that answer or sending it
        this.log("error", "request failed", { method: request.method, error: errorText(e) });
        this.respondFinal(tx, request, conn, () => createResponse(request, 500, { toTag: request.to.tag === undefined ? generateTag() : undefined }));
      });
  }

  /** Send the outcome's response (batched with what its `after` sends), then run `after`. */
  private complete(tx: NonInviteServerTransaction, request: SipRequest, conn: SipConnection, outcome: Outcome): void {
    this.batch = { conn, parts: [] };
    try {
      try {
        tx.respond(outcome.response);
      } catch (e) {
        this.log("debug", "could not send response", { error: errorText(e) });
        return;
      }
      const p = outcome.after?.();
      if (p) p.catch((e: unknown) => this.log("error", "post-response action failed", { method: request.method, error: errorText(e) }));
    } catch (e) {
      this.log("error", "post-response action failed", { method: request.method, error: errorText(e) });
    } finally {
      this.flushBatch();
    }
  }

  /** A final response built by `make`, unless the transaction was answered already; if even that fails, the connection is closed. */
  private respondFinal(tx: NonInviteServerTransaction, request: SipRequest, conn: SipConnection, make: () => SipResponse): void {
    if (tx.state === NonInviteServerState.Completed || tx.state === NonInviteServerState.Terminated) return;
    try {
      tx.respond(make());
    } catch (e) {
      this.log("error", "could not answer a request, closing its connection", { method: request.method, id: conn.id, error: errorText(e) });
      conn.close();
    }
  }

  private async dispatch(request: SipRequest, conn: SipConnection): Promise<Outcome> {
    try {
      request.validate();
      const handler = this.o.handlers.get(request.method);
      if (!handler) return { response: createResponse(request, 405, { toTag: generateTag(), headers: [["Allow", this.allow]] }) };
      return await handler(request, conn);
    } catch (e) {
      return { response: this.errorResponse(request, e) };
    }
  }

  /** The response for a failed request. Reason phrases may hold anything: `SipResponse` makes them wire-safe. */
  private errorResponse(request: SipRequest, e: unknown): SipResponse {
    const toTag = request.to.tag === undefined ? generateTag() : undefined;
    if (e instanceof SipError) return createResponse(request, e.status, { reason: e.reason, toTag, headers: [...e.headers] });
    if (e instanceof SipParseError) return createResponse(request, e.status, { reason: e.reason, toTag });
    if (e instanceof PresencePayloadError) return createResponse(request, e.status, { reason: e.message, toTag });
    this.log("error", "request failed", { method: request.method, error: errorText(e) });
    return createResponse(request, 500, { toTag });
  }

  private trySend(conn: SipConnection, make: () => SipResponse): void {
    try {
      conn.send(make());
    } catch (e) {
      this.log("debug", "could not send", { error: String(e) });
    }
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.stack ?? e.message : String(e);
}
