/** UAS/UAC helpers: build responses from requests (RFC 3261 §8.2.6) and new requests (§8.1.1). */
import { randomFillSync } from "node:crypto";
import { CSeq } from "./cseq";
import { SipRequest, SipResponse, defaultReason, type HeaderValue, type SipBody } from "./message";
import { NameAddr } from "./name-addr";
import type { Uri } from "./uri";
import { BRANCH_MAGIC_COOKIE, Via } from "./via";

/**
 * Random bytes from a pool refilled 4 KiB at a time from the CSPRNG: tags, branches and ETags are
 * made for every request, and one `randomBytes` call per token costs more than the token.
 */
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

export function randomToken(bytes: number, encoding: "hex" | "base64url"): string {
  if (poolOffset + bytes > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const s = pool.toString(encoding, poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return s;
}

export function generateTag(): string {
  return randomToken(6, "hex");
}
/** RFC 3261 §8.1.1.7: branch starts with the magic cookie and is unique per transaction. */
export function generateBranch(): string {
  return BRANCH_MAGIC_COOKIE + randomToken(9, "base64url");
}
export function generateCallId(host?: string): string {
  const id = randomToken(12, "hex");
  return host ? `${id}@${host}` : id;
}

export interface CreateResponseOptions {
  reason?: string;
  /** To tag to add when the request's To has none (§8.2.6.2). Not added to 100 Trying. */
  toTag?: string;
  headers?: Array<[string, HeaderValue]>;
  body?: SipBody;
  contentType?: string;
}

/** §8.2.6.2: copy Via (all, in order), From, To (+tag), Call-ID, CSeq; Timestamp for 100. */
export function createResponse(request: SipRequest, status: number, options: CreateResponseOptions = {}): SipResponse {
  const res = new SipResponse({ status, reason: options.reason ?? defaultReason(status) });
  for (const v of request.getHeaders("Via")) res.addHeader("Via", v);
  res.addHeader("From", request.getHeader("From") ?? "");
  const to = request.getHeader("To") ?? "";
  if (status !== 100 && options.toTag !== undefined && request.to.tag === undefined) {
    const t = request.to.clone();
    t.tag = options.toTag;
    res.addHeader("To", t);
  } else {
    res.addHeader("To", to);
  }
  res.addHeader("Call-ID", request.getHeader("Call-ID") ?? "");
  res.addHeader("CSeq", request.getHeader("CSeq") ?? "");
  if (status === 100) {
    const ts = request.getHeader("Timestamp");
    if (ts !== undefined) res.addHeader("Timestamp", ts);
  }
  for (const [n, v] of options.headers ?? []) res.addHeader(n, v);
  if (options.body !== undefined) res.setBody(options.body, options.contentType);
  return res;
}

export interface CreateRequestOptions {
  method: string;
  uri: Uri | string;
  from: NameAddr | string;
  to: NameAddr | string;
  callId?: string;
  cseq?: number;
  /** Local transport address for the Via (`branch` generated, `rport` requested). */
  via: { transport: string; host: string; port?: number; branch?: string };
  contact?: NameAddr | string;
  route?: Array<NameAddr | string>;
  maxForwards?: number;
  headers?: Array<[string, HeaderValue]>;
  body?: SipBody;
  contentType?: string;
}

/** §8.1.1: a new out-of-dialog request with the mandatory headers. A From tag is added if missing. */
export function createRequest(o: CreateRequestOptions): SipRequest {
  const from = typeof o.from === "string" ? NameAddr.parse(o.from) : o.from.clone();
  if (from.tag === undefined) from.tag = generateTag();
  const req = new SipRequest({ method: o.method, uri: o.uri });
  req.addHeader("Via", new Via({ transport: o.via.transport, host: o.via.host, port: o.via.port, params: { branch: o.via.branch ?? generateBranch(), rport: null } }));
  req.addHeader("Max-Forwards", o.maxForwards ?? 70);
  for (const r of o.route ?? []) req.addHeader("Route", r);
  req.addHeader("From", from);
  req.addHeader("To", o.to);
  req.addHeader("Call-ID", o.callId ?? generateCallId());
  req.addHeader("CSeq", new CSeq(o.cseq ?? 1, o.method));
  if (o.contact !== undefined) req.addHeader("Contact", o.contact);
  for (const [n, v] of o.headers ?? []) req.addHeader(n, v);
  if (o.body !== undefined) req.setBody(o.body, o.contentType);
  return req;
}
