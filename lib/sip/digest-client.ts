/** Client side of digest: answer a challenge with an Authorization / Proxy-Authorization value. */
import { randomBytes } from "node:crypto";
import { parseDigestHeader, serializeDigestHeader, type DigestParams } from "./digest-header";
import { computeDigestResponse, computeHa1, normalizeAlgorithm } from "./digest-hash";
import { SipError } from "./sip-error";

export interface DigestAuthorizationInput {
  /** The WWW-Authenticate / Proxy-Authenticate value, or its parsed form. */
  challenge: string | DigestParams;
  method: string;
  /** digest-uri: the Request-URI for SIP, the path for HTTP (XCAP). */
  uri: string;
  username: string;
  /** Either the HA1 for the challenge's algorithm and realm, or the password. */
  ha1?: string;
  password?: string;
  /** Nonce count (default 1). */
  nc?: number;
  cnonce?: string;
}

/** Build the credentials header value for a challenge (RFC 2617 §3.2.2, RFC 7616 §3.4). */
export function buildDigestAuthorization(input: DigestAuthorizationInput): string {
  const ch = typeof input.challenge === "string" ? parseDigestHeader(input.challenge) : input.challenge;
  if (ch.scheme.toLowerCase() !== "digest") throw new SipError(400, "not a Digest challenge");
  const algorithm = normalizeAlgorithm(ch.params.algorithm);
  if (!algorithm) throw new SipError(400, `unsupported digest algorithm ${ch.params.algorithm}`);
  const realm = ch.params.realm ?? "";
  const nonce = ch.params.nonce;
  if (nonce === undefined) throw new SipError(400, "challenge without nonce");
  const qops = (ch.params.qop ?? "").split(",").map((q) => q.trim().toLowerCase());
  const qop = qops.includes("auth") ? "auth" : undefined;
  const ha1 = input.ha1 ?? (input.password !== undefined ? computeHa1(algorithm, input.username, realm, input.password) : undefined);
  if (ha1 === undefined) throw new TypeError("ha1 or password required");
  const nc = (input.nc ?? 1).toString(16).padStart(8, "0");
  const cnonce = input.cnonce ?? randomBytes(12).toString("hex");
  const response = computeDigestResponse({ algorithm, ha1, method: input.method, uri: input.uri, nonce, qop, nc, cnonce });
  return serializeDigestHeader({
    username: input.username,
    realm,
    nonce,
    uri: input.uri,
    response,
    algorithm: ch.params.algorithm !== undefined ? algorithm : undefined,
    cnonce: qop ? cnonce : undefined,
    opaque: ch.params.opaque,
    qop,
    nc: qop ? nc : undefined,
  });
}
