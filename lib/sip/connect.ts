/** Opening an outbound SIP stream (TCP, or TLS with certificate checks) with a connect timeout. */
import { connect as tcpConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { StreamTransport } from "./connection";

export interface TlsClientOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  /** Default: the host, unless it is an IP address. */
  servername?: string;
  /** Default true: the server's certificate is verified. */
  rejectUnauthorized?: boolean;
}

/** Resolves with the connected socket (Nagle off); rejects on error or after `timeoutMs`. */
export function connectStream(opts: { host: string; port: number; transport: StreamTransport; tls?: TlsClientOptions; timeoutMs: number }): Promise<Socket> {
  const { host, port, transport, tls = {} } = opts;
  return new Promise((resolve, reject) => {
    const socket: Socket =
      transport === "TLS"
        ? tlsConnect({ host, port, ca: tls.ca, rejectUnauthorized: tls.rejectUnauthorized ?? true, servername: tls.servername ?? (isIP(host) ? undefined : host) })
        : tcpConnect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error(`connect to ${host}:${port} timed out`)), opts.timeoutMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once("error", onError);
    socket.once(transport === "TLS" ? "secureConnect" : "connect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
