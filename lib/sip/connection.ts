/** One SIP connection (flow) over TCP, TLS or an in-process memory flow (RFC 3261 §18.3, RFC 5626). */
import { EventEmitter } from "node:events";
import { MemoryFlowEnd } from "./memory-flow";
import type { SipMessage } from "./message";
import { serializeMessage } from "./serializer";

export type StreamTransport = "TCP" | "TLS";

/**
 * The byte stream under a connection: what `SipConnection`, the transport and the WebSocket bridge
 * use of it. `net.Socket` and `tls.TLSSocket` have it, and so does an in-process `MemoryFlowEnd`.
 */
export interface SipByteStream {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  /** False: wait for `'drain'` before writing more. */
  write(data: Buffer | string): boolean;
  end(): unknown;
  destroy(): unknown;
  pause(): unknown;
  resume(): unknown;
  /** `callback` after `ms` without activity. */
  setTimeout(ms: number, callback?: () => void): unknown;
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  on(event: "end" | "close" | "drain", listener: () => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  once(event: "end" | "close" | "drain", listener: () => void): unknown;
  once(event: "error", listener: (err: Error) => void): unknown;
  off(event: "end" | "close" | "drain", listener: () => void): unknown;
}

export interface SipConnectionEvents {
  close: [];
}

export class SipConnection extends EventEmitter<SipConnectionEvents> {
  readonly id: string;
  readonly transport: StreamTransport;
  /** Peer source address (what `received`/`rport` report). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Inbound (accepted by our listener, or an in-process flow opened to us) or outbound (we connected). */
  readonly direction: "inbound" | "outbound";
  readonly stream: SipByteStream;
  /** @internal The transport's last alias key for this connection (`SipTransport.addAlias`). */
  lastAlias?: { host: string; port: number; key: string };
  private isClosed = false;
  private closeTimer?: NodeJS.Timeout;

  constructor(id: string, transport: StreamTransport, stream: SipByteStream, direction: "inbound" | "outbound") {
    super();
    this.id = id;
    this.transport = transport;
    this.stream = stream;
    this.direction = direction;
    this.remoteAddress = normalizeAddress(stream.remoteAddress ?? "");
    this.remotePort = stream.remotePort ?? 0;
    this.localAddress = normalizeAddress(stream.localAddress ?? "");
    this.localPort = stream.localPort ?? 0;
    stream.once("close", () => {
      this.isClosed = true;
      this.emit("close");
    });
  }

  get closed(): boolean {
    return this.isClosed || this.stream.destroyed;
  }

  /** Serialize and write. Throws if the connection is closed (transaction layers treat it as a transport error). */
  send(message: SipMessage | Buffer): void {
    if (this.closed) throw new Error(`connection ${this.id} is closed`);
    if (Buffer.isBuffer(message)) this.stream.write(message);
    else this.writeWhole(serializeMessage(message));
  }

  /**
   * Serialized messages at once: one write on a socket (one TCP segment for, say, a 200 and its
   * first NOTIFY); on an in-process flow each goes whole on its own. Throws as `send`.
   */
  sendAll(serialized: Buffer[]): void {
    if (this.closed) throw new Error(`connection ${this.id} is closed`);
    if (serialized.length === 1 || this.stream instanceof MemoryFlowEnd) for (const m of serialized) this.writeWhole(m);
    else this.stream.write(Buffer.concat(serialized));
  }

  /** One whole serialized message: an in-process peer (the bridge) relays it without framing. */
  private writeWhole(bytes: Buffer): void {
    if (this.stream instanceof MemoryFlowEnd) this.stream.writeMessage(bytes);
    else this.stream.write(bytes);
  }

  /** RFC 5626 §4.4.1 pong. */
  sendPong(): void {
    if (!this.closed) this.stream.write("\r\n");
  }

  close(): void {
    if (this.stream.destroyed || this.closeTimer) return;
    this.stream.end();
    // do not wait forever for a peer that never finishes the close handshake
    const stream = this.stream;
    const timer = setTimeout(() => stream.destroy(), 1000);
    timer.unref();
    this.closeTimer = timer;
    this.once("close", () => clearTimeout(timer));
  }

  destroy(): void {
    this.stream.destroy();
  }
}

function normalizeAddress(a: string): string {
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}
