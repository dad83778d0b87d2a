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
  /** Bytes written and not yet taken by the peer (queued in this process). */
  readonly writableLength: number;
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
  /** The peer left more than `maxSendBacklog` bytes unread: the connection was destroyed. */
  backlog: [bytes: number];
}

/**
 * Bytes written to a connection and not yet taken by its peer beyond which the connection is
 * destroyed: a peer that stops reading (a dead or hostile client holding subscriptions) would
 * otherwise make every NOTIFY to it wait in this process's memory without bound. A full RLS
 * state of a few hundred members is well under 1 MiB.
 */
export const DEFAULT_MAX_SEND_BACKLOG = 4 * 1024 * 1024;

export interface SipConnectionOptions {
  /** An in-process flow (`SipTransport.openFlow`): reached only by its id, never by address. */
  inProcess?: boolean;
  /** AOR the peer already proved to be (an in-process flow opened for a portal session's user). */
  owner?: string;
  /** The real client's address when the peer relays for it (the bridge); default `remoteAddress`. */
  clientAddress?: string;
  /**
   * Identities an in-process peer vouches for, having authenticated them itself (the XMPP
   * gateway: bare JIDs of its XMPP domains as `sip:` URIs). See `SipConnection.asserts`.
   */
  asserts?: (aor: string) => boolean;
  /** See DEFAULT_MAX_SEND_BACKLOG (the default); 0: no limit. */
  maxSendBacklog?: number;
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
  /** An in-process flow: no address of its own (see `SipTransport.openFlow`). */
  readonly inProcess: boolean;
  /**
   * The AOR an in-process flow was opened for (the bridge: a WebSocket whose portal session is that
   * user's, and which lets only that user's requests through): requests from it need no digest.
   */
  readonly openedFor?: string;
  /** When the connection was accepted or opened (ms since the epoch). */
  readonly openedAt = Date.now();
  /** @internal The transport's last alias key for this connection (`SipTransport.addAlias`). */
  lastAlias?: { host: string; port: number; key: string };
  /** AORs authenticated on this connection (one, or several behind a proxy). */
  private owners?: Set<string>;
  private readonly relayedFor?: string;
  private readonly vouches?: (aor: string) => boolean;
  private isClosed = false;
  private closeTimer?: NodeJS.Timeout;
  private readonly maxSendBacklog: number;

  constructor(id: string, transport: StreamTransport, stream: SipByteStream, direction: "inbound" | "outbound", options: SipConnectionOptions = {}) {
    super();
    this.id = id;
    this.transport = transport;
    this.stream = stream;
    this.direction = direction;
    this.remoteAddress = normalizeAddress(stream.remoteAddress ?? "");
    this.remotePort = stream.remotePort ?? 0;
    this.localAddress = normalizeAddress(stream.localAddress ?? "");
    this.localPort = stream.localPort ?? 0;
    this.inProcess = options.inProcess ?? false;
    this.relayedFor = options.clientAddress === undefined ? undefined : normalizeAddress(options.clientAddress);
    if (options.owner) this.owners = new Set([options.owner]);
    if (options.inProcess && options.owner) this.openedFor = options.owner;
    this.vouches = options.inProcess ? options.asserts : undefined;
    this.maxSendBacklog = options.maxSendBacklog ?? DEFAULT_MAX_SEND_BACKLOG;
    stream.once("close", () => {
      this.isClosed = true;
      this.emit("close");
    });
  }

  /** The real client's address: the relayed client's for a bridge flow, else the peer's source address. */
  get clientAddress(): string {
    return this.relayedFor ?? this.remoteAddress;
  }

  /** Record that `aor` authenticated on this connection (after a successful digest check). */
  addOwner(aor: string): void {
    if (this.owners) this.owners.add(aor);
    else this.owners = new Set([aor]);
  }

  /** True when `aor` authenticated on this connection (or the flow was opened for it). */
  isOwnedBy(aor: string): boolean {
    return this.owners?.has(aor) ?? false;
  }

  /** True when the in-process peer vouches for `aor` (a gateway that authenticated it on its own side). */
  asserts(aor: string): boolean {
    return this.vouches?.(aor) ?? false;
  }

  /** True when any identity authenticated on this connection. */
  get owned(): boolean {
    return (this.owners?.size ?? 0) > 0;
  }

  get closed(): boolean {
    return this.isClosed || this.stream.destroyed;
  }

  /** Serialize and write. Throws if the connection is closed (transaction layers treat it as a transport error). */
  send(message: SipMessage | Buffer): void {
    if (this.closed) throw new Error(`connection ${this.id} is closed`);
    if (Buffer.isBuffer(message)) this.write(message);
    else this.writeWhole(serializeMessage(message));
  }

  /**
   * Serialized messages at once: one write on a socket (one TCP segment for, say, a 200 and its
   * first NOTIFY); on an in-process flow each goes whole on its own. Throws as `send`.
   */
  sendAll(serialized: Buffer[]): void {
    if (this.closed) throw new Error(`connection ${this.id} is closed`);
    if (serialized.length === 1 || this.stream instanceof MemoryFlowEnd) for (const m of serialized) this.writeWhole(m);
    else this.write(Buffer.concat(serialized));
  }

  /** One whole serialized message: an in-process peer (the bridge) relays it without framing. */
  private writeWhole(bytes: Buffer): void {
    if (this.stream instanceof MemoryFlowEnd) {
      if (!this.stream.writeMessage(bytes)) this.checkBacklog();
    } else this.write(bytes);
  }

  private write(bytes: Buffer): void {
    if (!this.stream.write(bytes)) this.checkBacklog();
  }

  /** After a write the stream asked to wait on: too much unread, and the flow goes. */
  private checkBacklog(): void {
    const bytes = this.stream.writableLength;
    if (this.maxSendBacklog > 0 && bytes > this.maxSendBacklog && !this.stream.destroyed) {
      this.stream.destroy();
      this.emit("backlog", bytes);
    }
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

/** A peer address as the transport reports it: IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as plain IPv4. */
export function normalizeAddress(a: string): string {
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}
