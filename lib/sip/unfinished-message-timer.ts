/**
 * Header timeout for one stream connection: a message (header block or body) whose first byte
 * arrived more than `timeoutMs` ago and that is still unfinished ends the connection — so a peer
 * that trickles bytes (one a second, "slowloris") cannot hold a connection and its buffer
 * forever, while one that keeps sending whole messages is never affected. Keep-alive CRLFs
 * between messages are not a message. One timer per connection at most, armed only while a
 * message is unfinished and not re-armed for every chunk: when it fires early (the message it
 * watched finished and another began) it waits for the rest of the new one's time.
 */
import type { TimerApi, TimerHandle } from "./timers";

export class UnfinishedMessageTimer {
  /** When the unfinished message's first byte arrived (`timers.now()`), or -1 with none. */
  private since = -1;
  /** A message was completed since the last `afterData`: what is buffered now began in that chunk. */
  private completed = false;
  private handle?: TimerHandle;
  private disposed = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly timers: TimerApi,
    private readonly onTimeout: () => void,
  ) {}

  /** A message was delivered (parsed or not) from the bytes being pushed. */
  messageCompleted(): void {
    this.completed = true;
  }

  /** After bytes were pushed: `buffered` is what the framer holds of an unfinished message (`SipStreamParser.unfinished`: a held keep-alive CRLF is none). */
  afterData(buffered: number): void {
    if (this.disposed || this.timeoutMs <= 0) return;
    const completed = this.completed;
    this.completed = false;
    if (buffered === 0) {
      this.since = -1;
      return;
    }
    if (this.since < 0 || completed) this.since = this.timers.now();
    if (this.handle === undefined) this.handle = this.timers.setTimeout(() => this.fire(), this.timeoutMs);
  }

  dispose(): void {
    this.disposed = true;
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
  }

  private fire(): void {
    this.handle = undefined;
    if (this.disposed || this.since < 0) return;
    const left = this.since + this.timeoutMs - this.timers.now();
    if (left > 0) {
      this.handle = this.timers.setTimeout(() => this.fire(), left);
      return;
    }
    this.dispose();
    this.onTimeout();
  }
}
