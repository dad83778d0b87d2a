/** One TCP or TLS connection carrying SIP, with its own stream framer (RFC 3261 §18.3). */
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import type { SipMessage } from "./message";
import { serializeMessage } from "./serializer";

export type StreamTransport = "TCP" | "TLS";

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
  /** Inbound (accepted by our listener) or outbound (we connected). */
  readonly direction: "inbound" | "outbound";
  readonly socket: Socket;
  private isClosed = false;

  constructor(id: string, transport: StreamTransport, socket: Socket, direction: "inbound" | "outbound") {
    super();
    this.id = id;
    this.transport = transport;
    this.socket = socket;
    this.direction = direction;
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? "");
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = normalizeAddress(socket.localAddress ?? "");
    this.localPort = socket.localPort ?? 0;
    socket.once("close", () => {
      this.isClosed = true;
      this.emit("close");
    });
  }

  get closed(): boolean {
    return this.isClosed || this.socket.destroyed;
  }

  /** Serialize and write. Throws if the connection is closed (transaction layers treat it as a transport error). */
  send(message: SipMessage | Buffer): void {
    if (this.closed) throw new Error(`connection ${this.id} is closed`);
    this.socket.write(Buffer.isBuffer(message) ? message : serializeMessage(message));
  }

  /** RFC 5626 §4.4.1 pong. */
  sendPong(): void {
    if (!this.closed) this.socket.write("\r\n");
  }

  close(): void {
    if (!this.socket.destroyed) this.socket.end();
    // do not wait forever for a peer that never finishes the close handshake
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function normalizeAddress(a: string): string {
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}
