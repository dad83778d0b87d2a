/** Digest hash helpers (RFC 2617 §3.2.2, RFC 7616 §3.4.1-3.4.3, RFC 8760 for SIP). */
import { hash } from "node:crypto";

export type DigestAlgorithm = "MD5" | "SHA-256";
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ["SHA-256", "MD5"];

export function normalizeAlgorithm(name: string | undefined): DigestAlgorithm | undefined {
  if (name === undefined || name === "") return "MD5"; // RFC 2617: absent means MD5
  const upper = name.toUpperCase();
  return upper === "MD5" ? "MD5" : upper === "SHA-256" ? "SHA-256" : undefined;
}

export function digestHash(algorithm: DigestAlgorithm, data: string): string {
  // one-shot crypto.hash (Node ≥ 20.12): no Hash object per call — three of these per digest verification
  return hash(algorithm === "MD5" ? "md5" : "sha256", data, "hex");
}

/** HA1 = H(username:realm:password). */
export function computeHa1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

export interface DigestResponseInput {
  algorithm: DigestAlgorithm;
  ha1: string;
  method: string;
  uri: string;
  nonce: string;
  /** "auth" or undefined (RFC 2069 compatibility). */
  qop?: string;
  nc?: string;
  cnonce?: string;
}

/** request-digest (qop=auth: H(HA1:nonce:nc:cnonce:qop:HA2), HA2 = H(method:uri)). */
export function computeDigestResponse(i: DigestResponseInput): string {
  const ha2 = digestHash(i.algorithm, `${i.method}:${i.uri}`);
  if (i.qop) return digestHash(i.algorithm, `${i.ha1}:${i.nonce}:${i.nc}:${i.cnonce}:${i.qop}:${ha2}`);
  return digestHash(i.algorithm, `${i.ha1}:${i.nonce}:${ha2}`);
}
