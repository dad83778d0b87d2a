/**
 * JsSIP 3.13 keeps only the LAST WWW-Authenticate / Proxy-Authenticate header of a 401/407
 * (its parser uses setHeader) and can answer only MD5. A server that offers several algorithms
 * (RFC 8760 §2.4, e.g. MD5 and SHA-256, in any order) would leave JsSIP without a usable
 * challenge. This socket decorator drops the non-MD5 challenges of a response that also offers
 * MD5, so JsSIP always sees one it can answer. Everything else passes unchanged.
 */
import type { Socket } from "jssip";

const CHALLENGE_LINE_RE = /^(?:www-authenticate|proxy-authenticate)[ \t]*:/i;
const ALGORITHM_RE = /algorithm[ \t]*=[ \t]*"?([A-Za-z0-9_-]+)/i;
const CHALLENGE_STATUS_RE = /^SIP\/2\.0[ \t]+40[17][ \t]/;

function isMd5(line: string): boolean {
  const m = ALGORITHM_RE.exec(line);
  return !m || m[1].toUpperCase() === "MD5";
}

/** The message with non-MD5 digest challenges removed when an MD5 one is present. */
export function keepMd5Challenges(message: string): string {
  if (!CHALLENGE_STATUS_RE.test(message)) return message;
  const headEnd = message.indexOf("\r\n\r\n");
  if (headEnd < 0) return message;
  const lines = message.slice(0, headEnd).split("\r\n");
  const challenges = lines.filter((l) => CHALLENGE_LINE_RE.test(l));
  if (challenges.length < 2) return message;
  const md5 = challenges.filter(isMd5);
  if (md5.length === 0 || md5.length === challenges.length) return message;
  return lines.filter((l) => !CHALLENGE_LINE_RE.test(l) || isMd5(l)).join("\r\n") + message.slice(headEnd);
}

type Data = Parameters<Socket["ondata"]>[0];

/** Wrap a JsSIP socket so incoming challenges are filtered by keepMd5Challenges. */
export function withMd5Challenges(inner: Socket): Socket {
  const outer = {
    get via_transport() {
      return inner.via_transport;
    },
    set via_transport(v: string) {
      inner.via_transport = v;
    },
    get url() {
      return inner.url;
    },
    get sip_uri() {
      return inner.sip_uri;
    },
    connect: () => inner.connect(),
    disconnect: () => inner.disconnect(),
    send: (m: Parameters<Socket["send"]>[0]) => inner.send(m),
    isConnected: () => inner.isConnected(),
    isConnecting: () => inner.isConnecting(),
    onconnect: () => {},
    ondisconnect: (_error: boolean, _code?: number, _reason?: string) => {},
    ondata: (_data: Data) => {},
  };
  inner.onconnect = () => outer.onconnect();
  inner.ondisconnect = (error, code, reason) => outer.ondisconnect(error, code, reason);
  inner.ondata = (data: Data) => outer.ondata(typeof data === "string" ? (keepMd5Challenges(data) as Data) : data);
  return outer as unknown as Socket;
}
