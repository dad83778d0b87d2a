/**
 * HTTP Digest authentication (RFC 7616 / RFC 2617) for the XCAP client, computed from the
 * HA1 hash (MD5(username:realm:password)) so that no plain password is ever needed.
 * Only MD5 and MD5-sess with qop=auth (or no qop, RFC 2069 style) are supported: that is
 * what OpenXCAP, Kamailio's xcap_server and Herald's embedded server offer.
 */
import { createHash, randomBytes } from "node:crypto";

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm: string;
  /** qop options offered by the server (lower-cased), empty when none */
  qop: string[];
  stale: boolean;
}

export interface DigestCredentials {
  username: string;
  /** MD5(username ":" realm ":" password), lower-case hex */
  ha1: string;
}

const PARAM_RE = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;

/** Parse every Digest challenge found in WWW-Authenticate header value(s). */
export function parseDigestChallenges(headerValue: string | null): DigestChallenge[] {
  if (!headerValue) return [];
  const out: DigestChallenge[] = [];
  // Several challenges may be folded into one header; split at each scheme token.
  const parts = headerValue.split(/(?:^|,)\s*(?=(?:Digest|Basic|Bearer|Negotiate)\s)/i);
  for (const part of parts) {
    const m = /^\s*Digest\s+(.*)$/is.exec(part);
    if (!m) continue;
    const params = new Map<string, string>();
    for (const pm of m[1]!.matchAll(PARAM_RE)) {
      params.set(pm[1]!.toLowerCase(), pm[2] !== undefined ? pm[2].replace(/\\(.)/g, "$1") : pm[3]!);
    }
    const realm = params.get("realm");
    const nonce = params.get("nonce");
    if (realm === undefined || nonce === undefined) continue;
    out.push({
      realm,
      nonce,
      opaque: params.get("opaque"),
      algorithm: (params.get("algorithm") ?? "MD5").toUpperCase(),
      qop: (params.get("qop") ?? "")
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
      stale: (params.get("stale") ?? "").toLowerCase() === "true",
    });
  }
  return out;
}

export function md5Hex(s: string): string {
  return createHash("md5").update(s, "utf8").digest("hex");
}

/** HA1 for a plain password; for tests and provisioning tools. */
export function computeHa1(username: string, realm: string, password: string): string {
  return md5Hex(`${username}:${realm}:${password}`);
}

export function isSupportedChallenge(c: DigestChallenge): boolean {
  const algOk = c.algorithm === "MD5" || c.algorithm === "MD5-SESS";
  const qopOk = c.qop.length === 0 || c.qop.includes("auth");
  return algOk && qopOk;
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, "\\$&")}"`;
}

export interface DigestAuthorizationInput {
  challenge: DigestChallenge;
  credentials: DigestCredentials;
  method: string;
  /** request-target as sent on the request line (path and query) */
  uri: string;
  /** nonce count, starting at 1 for each new nonce */
  nc: number;
  /** client nonce; random when omitted */
  cnonce?: string;
}

/** Build the Authorization header value answering a Digest challenge (RFC 7616 §3.4). */
export function buildDigestAuthorization(input: DigestAuthorizationInput): string {
  const { challenge, credentials, method, uri, nc } = input;
  const cnonce = input.cnonce ?? randomBytes(12).toString("hex");
  const useQop = challenge.qop.includes("auth");
  let ha1 = credentials.ha1.toLowerCase();
  if (challenge.algorithm === "MD5-SESS") ha1 = md5Hex(`${ha1}:${challenge.nonce}:${cnonce}`);
  const ha2 = md5Hex(`${method}:${uri}`);
  const ncHex = nc.toString(16).padStart(8, "0");
  const response = useQop
    ? md5Hex(`${ha1}:${challenge.nonce}:${ncHex}:${cnonce}:auth:${ha2}`)
    : md5Hex(`${ha1}:${challenge.nonce}:${ha2}`);
  const parts = [
    `username=${quote(credentials.username)}`,
    `realm=${quote(challenge.realm)}`,
    `nonce=${quote(challenge.nonce)}`,
    `uri=${quote(uri)}`,
    `response=${quote(response)}`,
    `algorithm=${challenge.algorithm === "MD5-SESS" ? "MD5-sess" : "MD5"}`,
  ];
  if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
  if (useQop) parts.push(`qop=auth`, `nc=${ncHex}`, `cnonce=${quote(cnonce)}`);
  return `Digest ${parts.join(", ")}`;
}
