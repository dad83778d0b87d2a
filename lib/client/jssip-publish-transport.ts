/**
 * PUBLISH over JsSIP (which has no PUBLISH API): an OutgoingRequest sent through JsSIP's
 * RequestSender, so the request uses the UA's transport, Via and transaction layer and 401/407
 * challenges are answered with the UA's digest credentials exactly as for REGISTER.
 */
import type { UA } from "jssip";
import RequestSender from "jssip/lib/RequestSender.js";
import * as SIPMessage from "jssip/lib/SIPMessage.js";
import type { IncomingResponse, OutgoingRequest } from "jssip/lib/SIPMessage";
import type { URI } from "jssip/lib/URI";
import { SipClientError } from "./errors";
import type { PublishRequest, PublishResponse, PublishTransport } from "./publisher";
import { CONTENT_TYPES } from "../presence/namespaces";

type OutgoingRequestCtor = new (
  method: string,
  ruri: URI,
  ua: UA,
  params: Record<string, unknown>,
  extraHeaders: string[],
  body?: string,
) => OutgoingRequest;

interface UaInternals {
  normalizeTarget(target: string): URI | undefined;
  isConnected(): boolean;
}

function intHeader(response: IncomingResponse, name: string): number | undefined {
  if (!response.hasHeader(name)) return undefined;
  const v = Number.parseInt(response.getHeader(name), 10);
  return Number.isFinite(v) && v >= 0 ? v : undefined;
}

interface DigestAuth {
  authenticate(request: { method: string; ruri: unknown; body?: string }, challenge: unknown): boolean;
  toString(): string;
}

interface SenderInternals {
  _auth: DigestAuth | null;
  _receiveResponse(response: IncomingResponse): void;
}

/**
 * Credentials of the last digest challenge, reused preemptively (RFC 2617 §3.2.2: the same nonce
 * with an incremented nonce-count) so a PUBLISH needs no challenge round trip — which is what
 * lets the removal PUBLISH sent on pagehide take effect before the page is gone.
 */
interface CachedAuth {
  auth: DigestAuth;
  challenge: unknown;
  header: "authorization" | "proxy-authorization";
}

export class JsSipPublishTransport implements PublishTransport {
  private cached?: CachedAuth;

  constructor(private readonly ua: UA) {}

  send(request: PublishRequest): Promise<PublishResponse> {
    const ua = this.ua as unknown as UaInternals;
    const ruri = ua.normalizeTarget(request.target);
    if (!ruri) return Promise.reject(new SipClientError(0, `invalid PUBLISH target ${request.target}`));
    if (!ua.isConnected()) return Promise.reject(new SipClientError(0, "not connected", "transport"));
    const headers = [`Event: ${request.event}`, `Expires: ${request.expires}`];
    if (request.etag) headers.push(`SIP-If-Match: ${request.etag}`);
    if (request.body !== undefined) headers.push(`Content-Type: ${request.contentType ?? CONTENT_TYPES.pidf}`);
    const Ctor = (SIPMessage as unknown as { OutgoingRequest: OutgoingRequestCtor }).OutgoingRequest;
    const outgoing = new Ctor("PUBLISH", ruri, this.ua, {}, headers, request.body);
    const cached = this.cached;
    if (cached && cached.auth.authenticate(outgoing as never, cached.challenge)) {
      outgoing.setHeader(cached.header, cached.auth.toString());
    }
    return new Promise<PublishResponse>((resolve, reject) => {
      const sender = new RequestSender(this.ua, outgoing, {
        onRequestTimeout: () => reject(new SipClientError(408, "PUBLISH timed out", "timeout")),
        onTransportError: () => reject(new SipClientError(0, "transport error while publishing", "transport")),
        onReceiveResponse: (response) => {
          if (response.status_code < 200) return;
          const out: PublishResponse = { status: response.status_code, reason: response.reason_phrase };
          if (response.hasHeader("SIP-ETag")) out.etag = response.getHeader("SIP-ETag").trim();
          const expires = intHeader(response, "Expires");
          const minExpires = intHeader(response, "Min-Expires");
          if (expires !== undefined) out.expires = expires;
          if (minExpires !== undefined) out.minExpires = minExpires;
          resolve(out);
        },
      });
      // remember the challenge the sender answers, for the next PUBLISH
      const internals = sender as unknown as SenderInternals;
      const receive = internals._receiveResponse.bind(sender);
      internals._receiveResponse = (response: IncomingResponse) => {
        const code = response.status_code;
        const challenge = code === 401 || code === 407 ? response.parseHeader(code === 401 ? "www-authenticate" : "proxy-authenticate") : undefined;
        receive(response);
        if (challenge && internals._auth) {
          this.cached = { auth: internals._auth, challenge, header: code === 401 ? "authorization" : "proxy-authorization" };
        }
      };
      sender.send();
    });
  }
}
