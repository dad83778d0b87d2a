/** Non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8). */
import { EventEmitter } from "node:events";
import type { SipRequest, SipResponse } from "./message";
import { realTimers, timerJ, type TimerApi, type TimerHandle } from "./timers";

export enum NonInviteServerState {
  Trying = "Trying",
  Proceeding = "Proceeding",
  Completed = "Completed",
  Terminated = "Terminated",
}

export interface NonInviteServerTransactionOptions {
  request: SipRequest;
  /** Sends a response back towards the client (same connection / Via target). May throw. */
  send: (response: SipResponse) => void;
  /** Reliable transport: Timer J = 0 (§17.2.2). */
  reliable: boolean;
  timers?: TimerApi;
}

export interface NonInviteServerTransactionEvents {
  transportError: [error: unknown];
  stateChanged: [state: NonInviteServerState];
  terminated: [];
}

export class NonInviteServerTransaction extends EventEmitter<NonInviteServerTransactionEvents> {
  readonly request: SipRequest;
  readonly id: string;
  state = NonInviteServerState.Trying;
  /** Last response sent (provisional in Proceeding, final in Completed). */
  lastResponse?: SipResponse;
  private readonly sendFn: (response: SipResponse) => void;
  private readonly reliable: boolean;
  private readonly timers: TimerApi;
  private timerJHandle?: TimerHandle;

  constructor(options: NonInviteServerTransactionOptions) {
    super();
    if (options.request.method === "INVITE" || options.request.method === "ACK") throw new TypeError("not a non-INVITE request");
    this.request = options.request;
    this.id = serverTransactionKey(options.request);
    this.sendFn = options.send;
    this.reliable = options.reliable;
    this.timers = options.timers ?? realTimers;
  }

  /** A retransmission of the request arrived (§17.2.2). */
  receiveRetransmission(): void {
    if (this.state === NonInviteServerState.Proceeding || this.state === NonInviteServerState.Completed) {
      if (this.lastResponse) this.transmit(this.lastResponse);
    }
    // Trying: discard
  }

  /** The TU responds. Responses after the final one are refused. */
  respond(response: SipResponse): void {
    if (this.state === NonInviteServerState.Completed || this.state === NonInviteServerState.Terminated) {
      throw new Error(`cannot send ${response.status} in state ${this.state}`);
    }
    this.lastResponse = response;
    if (response.status < 200) {
      this.setState(NonInviteServerState.Proceeding);
      this.transmit(response);
      return;
    }
    this.setState(NonInviteServerState.Completed);
    if (!this.transmit(response)) return;
    // §17.2.2: Timer J absorbs request retransmissions; 0 on reliable transports
    const j = timerJ(this.reliable);
    if (j === 0) this.terminate();
    else this.timerJHandle = this.timers.setTimeout(() => this.terminate(), j);
  }

  dispose(): void {
    this.terminate();
  }

  private transmit(response: SipResponse): boolean {
    try {
      this.sendFn(response);
      return true;
    } catch (e) {
      // §17.2.4: transport failure → Terminated, inform the TU
      this.emit("transportError", e);
      this.terminate();
      return false;
    }
  }

  private setState(state: NonInviteServerState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit("stateChanged", state);
  }

  private terminate(): void {
    if (this.state === NonInviteServerState.Terminated) return;
    if (this.timerJHandle !== undefined) this.timers.clearTimeout(this.timerJHandle);
    this.timerJHandle = undefined;
    this.setState(NonInviteServerState.Terminated);
    this.emit("terminated");
  }
}

/** §17.2.3: branch + sent-by + method (no RFC 2543 fallback). */
export function serverTransactionKey(request: SipRequest): string {
  const via = request.topVia;
  const sentBy = via ? `${via.host.toLowerCase()}:${via.port ?? ""}` : "";
  return `${via?.branch ?? ""}|${sentBy}|${request.method}`;
}
