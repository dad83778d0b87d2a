/**
 * Transaction layer (RFC 3261 §17): owns the non-INVITE client and server transactions, matches
 * incoming messages to them (§17.1.3 branch + CSeq method; §17.2.3 branch + sent-by + method) and
 * drops them when they terminate. No RFC 2543 (no magic cookie) fallback matching.
 */
import { NonInviteClientTransaction, clientTransactionKey } from "./client-transaction";
import { componentLogger, type SipLogger } from "./logger";
import type { SipRequest, SipResponse } from "./message";
import { NonInviteServerTransaction, serverTransactionKey } from "./server-transaction";
import { realTimers, type TimerApi } from "./timers";

export interface TransactionLayerOptions {
  timers?: TimerApi;
  logger?: SipLogger;
}

export type IncomingRequestDisposition =
  /** A new server transaction: hand the request to the TU, which must `respond()`. */
  | { kind: "new"; transaction: NonInviteServerTransaction }
  /** A retransmission, already absorbed (last response re-sent if any). */
  | { kind: "retransmission"; transaction: NonInviteServerTransaction }
  /** ACK / INVITE / CANCEL: not handled by non-INVITE transactions; answer statelessly or drop. */
  | { kind: "stateless" };

export class TransactionLayer {
  private readonly timers: TimerApi;
  private readonly log: SipLogger;
  private readonly clients = new Map<string, NonInviteClientTransaction>();
  private readonly servers = new Map<string, NonInviteServerTransaction>();

  constructor(options: TransactionLayerOptions = {}) {
    this.timers = options.timers ?? realTimers;
    this.log = componentLogger("sip:transaction", options.logger);
  }

  get size(): { clients: number; servers: number } {
    return { clients: this.clients.size, servers: this.servers.size };
  }

  /** Create and start a client transaction. `send` must deliver to the chosen target. */
  sendRequest(request: SipRequest, options: { send: (r: SipRequest) => void; reliable: boolean }): NonInviteClientTransaction {
    const tx = new NonInviteClientTransaction({ request, send: options.send, reliable: options.reliable, timers: this.timers });
    if (this.clients.has(tx.id)) throw new Error(`duplicate client transaction ${tx.id}`);
    this.clients.set(tx.id, tx);
    tx.once("terminated", () => this.clients.delete(tx.id));
    tx.start();
    return tx;
  }

  /** Match a response to its client transaction. Returns false for a stray response (to be dropped, §18.1.2). */
  receiveResponse(response: SipResponse): boolean {
    const tx = this.clients.get(clientTransactionKey(response));
    if (!tx) {
      this.log("debug", "stray response dropped", { status: response.status, callId: response.callId });
      return false;
    }
    tx.receiveResponse(response);
    return true;
  }

  /** Route an incoming request: new server transaction, absorbed retransmission, or stateless. */
  receiveRequest(request: SipRequest, options: { send: (r: SipResponse) => void; reliable: boolean }): IncomingRequestDisposition {
    if (request.method === "ACK" || request.method === "INVITE" || request.method === "CANCEL") return { kind: "stateless" };
    const key = serverTransactionKey(request);
    const existing = this.servers.get(key);
    if (existing) {
      existing.receiveRetransmission();
      return { kind: "retransmission", transaction: existing };
    }
    const tx = new NonInviteServerTransaction({ request, send: options.send, reliable: options.reliable, timers: this.timers });
    this.servers.set(key, tx);
    tx.once("terminated", () => this.servers.delete(key));
    return { kind: "new", transaction: tx };
  }

  /** Terminate everything (shutdown). */
  dispose(): void {
    for (const tx of [...this.clients.values()]) tx.dispose();
    for (const tx of [...this.servers.values()]) tx.dispose();
  }
}
