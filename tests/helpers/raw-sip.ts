/**
 * A raw SIP-over-TCP peer for tests that send bytes no well-behaved client would: it writes what
 * it is given and records what comes back (responses, requests such as NOTIFYs, bytes the
 * server sent that do not parse) and when the server closes the connection. Every wait is bounded.
 */
import net from "node:net";
import { SipRequest, SipResponse, SipStreamParser, createResponse, serializeMessage } from "@/lib/sip";

export class RawSipConnection {
  readonly socket: net.Socket;
  /** Final responses, in arrival order. */
  readonly responses: SipResponse[] = [];
  /** Requests from the server (NOTIFY, OPTIONS); each is answered 200. */
  readonly requests: SipRequest[] = [];
  /** Messages from the server that did not parse (an echo of a malformed request's headers). */
  unparsed = 0;
  closed = false;
  private readonly parser = new SipStreamParser({ maxMessageSize: 1 << 20, maxHeaderSize: 1 << 20 });
  private waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (d) => this.parser.push(d));
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    this.parser.on("message", (m) => {
      if (m instanceof SipResponse) {
        if (m.status >= 200) this.responses.push(m);
      } else {
        this.requests.push(m);
        if (!this.closed) this.socket.write(serializeMessage(createResponse(m, 200)));
      }
      this.wake();
    });
    this.parser.on("parseError", () => {
      this.unparsed++;
      this.wake();
    });
  }

  static connect(port: number, host = "127.0.0.1"): Promise<RawSipConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port }, () => {
        s.off("error", reject);
        resolve(new RawSipConnection(s));
      });
      s.setNoDelay(true);
      s.once("error", reject);
    });
  }

  write(data: Buffer | string): void {
    if (!this.closed) this.socket.write(data);
  }

  /** Resolves once `done()` holds (checked on every arrival and on close); rejects after `timeoutMs`. */
  until(done: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (responses: ${this.responses.map((r) => r.status).join(",") || "none"}, closed: ${this.closed})`));
      }, timeoutMs);
      const check = () => {
        if (!done()) return;
        this.waiters = this.waiters.filter((w) => w !== check);
        clearTimeout(t);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  /** The next final response (the `n`th overall), or undefined if the server closed instead. */
  async response(n = this.responses.length + 1, timeoutMs = 5000): Promise<SipResponse | undefined> {
    await this.until(() => this.responses.length >= n || this.closed, timeoutMs, `response #${n}`);
    return this.responses[n - 1];
  }

  waitClosed(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.closed, timeoutMs, "the server to close the connection");
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** A request as text with CRLF line ends and a correct Content-Length (unless `contentLength` is given). */
export function rawRequest(lines: string[], body = "", contentLength?: number): string {
  const head = lines.filter((l) => !/^content-length\s*:/i.test(l));
  head.push(`Content-Length: ${contentLength ?? Buffer.byteLength(body)}`);
  return head.join("\r\n") + "\r\n\r\n" + body;
}
