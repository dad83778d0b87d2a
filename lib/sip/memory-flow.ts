/**
 * An in-memory flow: two connected byte-stream ends inside one process, used where a SIP
 * connection's peer lives in the same process (the WebSocket bridge in front of the embedded
 * server), so a message does not make a loopback TCP round trip through the kernel and a second
 * event-loop turn.
 *
 * Each end has the part of `net.Socket` that `SipConnection` and the bridge use (`SipByteStream`),
 * with TCP's semantics and no Node streams machinery:
 * - `write(chunk)` → `'data'` with that very chunk on the other end, in order, delivered from a
 *   microtask: never re-entrant (the writer's call returns first), no timer or I/O turn.
 * - `end()` → the other end gets `'end'` after everything written before it, and ends its own
 *   side in turn (net's `allowHalfOpen: false`); once both sides have ended, both emit `'close'`.
 * - `destroy()` → this end closes at once, drops what it had not read yet; the other end still
 *   gets what was written to it, then `'end'` and `'close'` (a FIN, not a reset).
 * - Backpressure: `pause()` holds deliveries; while more than `highWaterMark` bytes wait for a
 *   paused reader, `write()` returns false, and the writer gets `'drain'` once they are taken.
 * - `setTimeout(ms, cb)`: `'timeout'` after `ms` without a write in either direction.
 * - `writeMessage(raw, msg?)`: `raw` is one whole SIP message, and `msg`, when given, its parse
 *   (`parseFrame`); the reader gets `'message'` (raw, msg) in its place when it listens for it,
 *   else `'data'` with `raw`. The server's stream parser takes the bridge's parse as if it had
 *   parsed `raw` itself (one parse per browser message), and the bridge relays the server's
 *   messages without framing them.
 */
import { EventEmitter } from "node:events";
import type { SipMessageAny } from "./message";

export interface FlowAddress {
  address: string;
  port: number;
}

export interface MemoryFlowEndEvents {
  data: [chunk: Buffer];
  message: [raw: Buffer, msg: SipMessageAny | undefined];
  end: [];
  close: [hadError: boolean];
  drain: [];
  timeout: [];
  error: [err: Error];
}

/** A chunk written with `writeMessage`: the bytes and their parse. */
class ParsedChunk {
  constructor(
    readonly raw: Buffer,
    readonly msg: SipMessageAny | undefined,
  ) {}
  get length(): number {
    return this.raw.length;
  }
}

/** Bytes waiting for a paused reader beyond which `write()` asks the writer to wait. */
export const DEFAULT_FLOW_HIGH_WATER = 1024 * 1024;

export class MemoryFlowEnd extends EventEmitter<MemoryFlowEndEvents> {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private peer!: MemoryFlowEnd;
  private readonly highWaterMark: number;
  /** Chunks the peer wrote that this end has not emitted yet (`head` is the next one); shared empty list until the first. */
  private inbox: Array<Buffer | ParsedChunk> = NO_CHUNKS;
  private head = 0;
  private inboxBytes = 0;
  /** The peer ended its side; `'end'` follows the inbox. */
  private peerEnded = false;
  private endEmitted = false;
  private scheduled = false;
  private paused = false;
  private writeEnded = false;
  private isDestroyed = false;
  /** The last write returned false: emit `'drain'` when the peer has taken its inbox. */
  private needDrain = false;
  private idleMs = 0;
  private idleTimer?: NodeJS.Timeout;
  private lastActivity = 0;

  /** Use `createMemoryFlow`. */
  constructor(local: FlowAddress, remote: FlowAddress, highWaterMark: number) {
    super();
    this.localAddress = local.address;
    this.localPort = local.port;
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
    this.highWaterMark = highWaterMark;
  }

  /** @internal */
  link(peer: MemoryFlowEnd): void {
    this.peer = peer;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  get writableEnded(): boolean {
    return this.writeEnded;
  }

  /** Bytes written by the peer and not yet emitted here. */
  get readableLength(): number {
    return this.inboxBytes;
  }

  /** Bytes written here and not yet emitted by the peer. */
  get writableLength(): number {
    return this.peer.inboxBytes;
  }

  /**
   * Queue `data` for the other end. The chunk is handed over as it is (not copied): do not
   * change it afterwards, as with `socket.write`. False when the peer is paused and more than
   * the high-water mark waits for it — wait for `'drain'`; also false after `end()`/`destroy()`
   * (the bytes are dropped, callers check `writableEnded`/`destroyed` first).
   */
  write(data: Buffer | Uint8Array | string): boolean {
    if (this.writeEnded || this.isDestroyed) return false;
    const chunk = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (chunk.length === 0) return true;
    return this.send(chunk);
  }

  /**
   * Write one whole SIP message: its bytes and, when known, its parse (`parseFrame(raw, …)`), for
   * a reader that can use them instead of framing (and parsing) `raw`. Neither may be changed
   * afterwards. As `write` otherwise.
   */
  writeMessage(raw: Buffer, msg?: SipMessageAny): boolean {
    if (this.writeEnded || this.isDestroyed) return false;
    return this.send(new ParsedChunk(raw, msg));
  }

  private send(chunk: Buffer | ParsedChunk): boolean {
    if (this.idleMs > 0 || this.peer.idleMs > 0) this.lastActivity = this.peer.lastActivity = Date.now();
    return this.peer.receive(chunk) ? true : ((this.needDrain = true), false);
  }

  /** End our side (a FIN): the peer gets `'end'` after what was written. */
  end(data?: Buffer | string): this {
    if (data !== undefined) this.write(data);
    if (this.writeEnded || this.isDestroyed) return this;
    this.writeEnded = true;
    this.peer.receiveEnd();
    this.closeWhenDone();
    return this;
  }

  /** Close now; unread input is dropped. The peer gets what was written to it, then `'end'`. */
  destroy(): this {
    if (this.isDestroyed) return this;
    this.isDestroyed = true;
    this.writeEnded = true;
    this.inbox = NO_CHUNKS;
    this.head = this.inboxBytes = 0;
    this.clearIdle();
    this.peer.receiveEnd();
    queueMicrotask(() => this.emit("close", false));
    return this;
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    if (!this.paused) return this;
    this.paused = false;
    if (this.inboxBytes > 0 || this.peerEnded) this.schedule();
    return this;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** `'timeout'` (and `callback`, once) after `ms` without a write either way; 0 turns it off. */
  setTimeout(ms: number, callback?: () => void): this {
    if (callback) this.once("timeout", callback);
    this.clearIdle();
    this.idleMs = ms;
    if (ms > 0 && !this.isDestroyed) {
      this.lastActivity = Date.now();
      this.armIdle(ms);
    }
    return this;
  }

  /** net.Socket compatibility: there is no Nagle or TCP keep-alive here. */
  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  private receive(chunk: Buffer | ParsedChunk): boolean {
    if (this.isDestroyed) return true; // nobody reads any more: the bytes are gone, as on a closed socket
    if (this.inbox === NO_CHUNKS) this.inbox = [];
    this.inbox.push(chunk);
    this.inboxBytes += chunk.length;
    this.schedule();
    return this.inboxBytes <= this.highWaterMark;
  }

  private receiveEnd(): void {
    if (this.isDestroyed || this.peerEnded) return;
    this.peerEnded = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.isDestroyed) return;
    this.scheduled = true;
    // one microtask delivers to every end written to meanwhile (no closure per end or per write)
    if (due.push(this) === 1) queueMicrotask(flushDue);
  }

  /** @internal Deliver what waits (called from the shared microtask). */
  flush(): void {
    this.scheduled = false;
    while (!this.paused && !this.isDestroyed && this.head < this.inbox.length) {
      const chunk = this.inbox[this.head]!;
      this.inbox[this.head++] = EMPTY;
      this.inboxBytes -= chunk.length;
      if (this.head === this.inbox.length) {
        this.inbox.length = 0;
        this.head = 0;
      }
      if (chunk instanceof ParsedChunk) {
        if (this.listenerCount("message") > 0) this.emit("message", chunk.raw, chunk.msg);
        else this.emit("data", chunk.raw);
      } else {
        this.emit("data", chunk);
      }
    }
    if (this.isDestroyed || this.inboxBytes > 0) return;
    const writer = this.peer;
    if (writer.needDrain) {
      writer.needDrain = false;
      if (!writer.isDestroyed) writer.emit("drain");
    }
    if (this.peerEnded && !this.endEmitted) {
      this.endEmitted = true;
      this.emit("end");
      this.end(); // allowHalfOpen false, as net.Socket
      this.closeWhenDone();
    }
  }

  /** Both directions finished: the flow is closed at this end. */
  private closeWhenDone(): void {
    if (this.isDestroyed || !this.writeEnded || !this.endEmitted) return;
    this.isDestroyed = true;
    this.clearIdle();
    queueMicrotask(() => this.emit("close", false));
  }

  private armIdle(delay: number): void {
    this.idleTimer = setTimeout(checkIdleOf, delay, this);
    this.idleTimer.unref();
  }

  /** @internal */
  checkIdle(): void {
    this.idleTimer = undefined;
    if (this.isDestroyed || this.idleMs <= 0) return;
    const rest = this.lastActivity + this.idleMs - Date.now();
    if (rest > 0) return this.armIdle(rest);
    this.armIdle(this.idleMs);
    this.emit("timeout");
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}

const EMPTY = Buffer.alloc(0);
const NO_CHUNKS: Array<Buffer | ParsedChunk> = [];

/** Ends with something to deliver, in the order they were written to. */
let due: MemoryFlowEnd[] = [];

function flushDue(): void {
  const ends = due;
  due = [];
  // an end written to during these deliveries lands in the next batch (its own microtask)
  for (const end of ends) end.flush();
}

function checkIdleOf(end: MemoryFlowEnd): void {
  end.checkIdle();
}

/**
 * A connected pair: `[a, b]` where `a` has address `aAddress` and sees `bAddress` as its remote
 * end, and the other way round.
 */
export function createMemoryFlow(aAddress: FlowAddress, bAddress: FlowAddress, opts: { highWaterMark?: number } = {}): [MemoryFlowEnd, MemoryFlowEnd] {
  const hw = opts.highWaterMark ?? DEFAULT_FLOW_HIGH_WATER;
  const a = new MemoryFlowEnd(aAddress, bAddress, hw);
  const b = new MemoryFlowEnd(bAddress, aAddress, hw);
  a.link(b);
  b.link(a);
  return [a, b];
}
