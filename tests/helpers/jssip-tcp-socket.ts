/**
 * JsSIP's Socket interface (https://jssip.net/documentation/3.10.x/api/socket/) over a raw TCP
 * connection, so JsSIP runs in Node against a SIP server's TCP port: stream framing by
 * lib/sip's SipStreamParser (Content-Length), one `ondata` per SIP message, CRLFCRLF keep-alive
 * pings passed up so JsSIP answers them. `connect()` may be called again after a disconnect
 * (JsSIP's connection recovery reuses the socket object).
 */
import net from "node:net";
import { SipStreamParser } from "@/lib/sip";

export interface JsSipTcpSocketOptions {
  host: string;
  port: number;
}

export class JsSipTcpSocket {
  readonly via_transport = "TCP";
  readonly url: string;
  readonly sip_uri: string;
  onconnect: () => void = () => {};
  ondisconnect: (error: boolean, code?: number, reason?: string) => void = () => {};
  ondata: (data: string) => void = () => {};
  /** Every message sent, for assertions. */
  readonly sent: string[] = [];
  private socket?: net.Socket;
  private state: "idle" | "connecting" | "connected" = "idle";
  /** Number of connections opened so far. */
  connections = 0;

  constructor(private readonly options: JsSipTcpSocketOptions) {
    this.url = `tcp://${options.host}:${options.port}`;
    this.sip_uri = `sip:${options.host}:${options.port};transport=tcp`;
  }

  connect(): void {
    if (this.state !== "idle") return;
    this.state = "connecting";
    this.connections++;
    const socket = net.connect({ host: this.options.host, port: this.options.port });
    this.socket = socket;
    const parser = new SipStreamParser({ maxMessageSize: 1024 * 1024 });
    parser.on("message", (_msg, raw) => this.ondata(raw.toString("utf8")));
    parser.on("keepalive", (kind) => {
      if (kind === "ping") this.ondata("\r\n\r\n");
    });
    parser.on("parseError", (_err, raw) => this.ondata(raw.toString("utf8")));
    parser.on("framingError", () => socket.destroy());
    socket.setNoDelay(true);
    socket.on("connect", () => {
      if (this.socket !== socket) return;
      this.state = "connected";
      this.onconnect();
    });
    socket.on("data", (chunk) => parser.push(chunk));
    socket.on("error", () => {
      // reported by "close"
    });
    socket.on("close", (hadError) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.state = "idle";
      this.ondisconnect(hadError, hadError ? 1006 : 1000, hadError ? "connection error" : "connection closed");
    });
  }

  disconnect(): void {
    const s = this.socket;
    this.socket = undefined;
    this.state = "idle";
    s?.end();
    s?.destroySoon?.();
  }

  send(message: string): boolean {
    if (this.state !== "connected" || !this.socket) return false;
    this.sent.push(message);
    this.socket.write(message);
    return true;
  }

  isConnected(): boolean {
    return this.state === "connected";
  }

  isConnecting(): boolean {
    return this.state === "connecting";
  }
}
