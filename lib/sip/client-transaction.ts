/** Non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6). */
import { EventEmitter } from "node:events";
import type { SipRequest, SipResponse } from "./message";
import { T2, TIMER_E_INITIAL, TIMER_F, realTimers, timerK, type TimerApi, type TimerHandle } from "./timers";

export enum NonInviteClientState {
  Trying = "Trying",
  Proceeding = "Proceeding",
  Completed = "Completed",
  Terminated = "Terminated",
}

export interface NonInviteClientTransactionOptions {
  request: SipRequest;
  /** Hands the request to the transport (may throw: reported as a transport error). */
  send: (request: SipRequest) => void;
  /** Reliable transport (TCP/TLS/WS): no retransmissions, Timer K = 0 (§17.1.2.2). */
  reliable: boolean;
  timers?: TimerApi;
}

export interface NonInviteClientTransactionEvents {
  /** Every provisional and the (first) final response, for the transaction user. */
  response: [response: SipResponse];
  /** Timer F fired without a final response: treat as 408 (§8.1.3.1). */
  timeout: [];
  transportError: [error: unknown];
  stateChanged: [state: NonInviteClientState];
  terminated: [];
}

export class NonInviteClientTransaction extends EventEmitter<NonInviteClientTransactionEvents> {
  readonly request: SipRequest;
  readonly id: string;
  state = NonInviteClientState.Trying;
  private readonly sendFn: (request: SipRequest) => void;
  private readonly reliable: boolean;
  private readonly timers: TimerApi;
  private timerE?: TimerHandle;
  private timerF?: TimerHandle;
  private timerK?: TimerHandle;
  private intervalE = TIMER_E_INITIAL;

  constructor(options: NonInviteClientTransactionOptions) {
    super();
    if (options.request.method === "INVITE" || options.request.method === "ACK") throw new TypeError("not a non-INVITE request");
    this.request = options.request;
    this.id = clientTransactionKey(options.request);
    this.sendFn = options.send;
    this.reliable = options.reliable;
    this.timers = options.timers ?? realTimers;
  }

  /** Send the request and start Timers E (unreliable only) and F. */
  start(): void {
    if (!this.transmit()) return;
    if (!this.reliable) this.timerE = this.timers.setTimeout(() => this.onTimerE(), this.intervalE);
    this.timerF = this.timers.setTimeout(() => this.onTimerF(), TIMER_F);
  }

  /** Feed a response matched to this transaction (§17.1.3). */
  receiveResponse(response: SipResponse): void {
    const provisional = response.status < 200;
    switch (this.state) {
      case NonInviteClientState.Trying:
      case NonInviteClientState.Proceeding:
        if (provisional) {
          this.setState(NonInviteClientState.Proceeding);
          this.emit("response", response);
        } else {
          this.clear();
          this.setState(NonInviteClientState.Completed);
          this.emit("response", response);
          // §17.1.2.2: Timer K buffers response retransmissions; 0 on reliable transports
          const k = timerK(this.reliable);
          if (k === 0) this.terminate();
          else this.timerK = this.timers.setTimeout(() => this.terminate(), k);
        }
        break;
      default:
        break; // Completed: absorb retransmitted responses
    }
  }

  /** The transport failed to deliver (§17.1.4): terminate and inform the TU. */
  transportError(error: unknown): void {
    if (this.state === NonInviteClientState.Terminated) return;
    this.emit("transportError", error);
    this.terminate();
  }

  /** Stop everything without notifying the TU (shutdown). */
  dispose(): void {
    this.terminate();
  }

  private transmit(): boolean {
    try {
      this.sendFn(this.request);
      return true;
    } catch (e) {
      this.transportError(e);
      return false;
    }
  }

  private onTimerE(): void {
    this.timerE = undefined;
    if (this.state !== NonInviteClientState.Trying && this.state !== NonInviteClientState.Proceeding) return;
    if (!this.transmit()) return;
    // §17.1.2.2: doubling up to T2 in Trying; T2 in Proceeding
    this.intervalE = this.state === NonInviteClientState.Trying ? Math.min(2 * this.intervalE, T2) : T2;
    this.timerE = this.timers.setTimeout(() => this.onTimerE(), this.intervalE);
  }

  private onTimerF(): void {
    this.timerF = undefined;
    if (this.state !== NonInviteClientState.Trying && this.state !== NonInviteClientState.Proceeding) return;
    this.emit("timeout");
    this.terminate();
  }

  private setState(state: NonInviteClientState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit("stateChanged", state);
  }

  private clear(): void {
    for (const t of [this.timerE, this.timerF, this.timerK]) if (t !== undefined) this.timers.clearTimeout(t);
    this.timerE = this.timerF = this.timerK = undefined;
  }

  private terminate(): void {
    if (this.state === NonInviteClientState.Terminated) return;
    this.clear();
    this.setState(NonInviteClientState.Terminated);
    this.emit("terminated");
  }
}

/** §17.1.3: a response matches by top Via branch and CSeq method. */
export function clientTransactionKey(msg: SipRequest | SipResponse): string {
  const branch = msg.topVia?.branch ?? "";
  return `${branch}|${msg.cseq.method}`;
}
