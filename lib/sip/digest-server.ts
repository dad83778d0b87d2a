/**
 * Server side of digest authentication (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760).
 *
 * Nonces are self-validating: base64url(issued-at ms ‖ random ‖ HMAC-SHA256(secret, both)),
 * so any server holding the secret can check them without state; an expired nonce yields
 * `stale=true` (RFC 2617 §3.2.1). Replays are stopped by tracking the highest nonce-count seen per
 * nonce in a bounded map; nonces older than the newest evicted entry that are no longer tracked
 * are answered with a stale challenge rather than trusted.
 *
 * The nonce-counts live in memory only. With `epoch` set (the SIP server passes one random per
 * process run), every nonce carries it and a nonce of another epoch — an earlier run, whose counts
 * are gone — is answered `stale=true` (RFC 7616 §3.3: the client retries with the new nonce without
 * asking the user), so a request captured before a restart cannot be replayed after it.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { parseDigestHeader, serializeDigestHeader, type DigestParams } from "./digest-header";
import { DIGEST_ALGORITHMS, computeDigestResponse, normalizeAlgorithm, type DigestAlgorithm } from "./digest-hash";
import { componentLogger, type SipLogger } from "./logger";
import type { SipRequest } from "./message";
import { parseEphemeralUsername } from "./ephemeral-credentials";

/** Returns the stored HA1 for that algorithm (hex), or undefined for an unknown user. */
export type CredentialsLookup = (username: string, realm: string, algorithm: DigestAlgorithm) => Promise<string | undefined>;

export interface DigestAuthenticatorOptions {
  realm: string;
  /** Server secret for nonce HMACs (≥ 16 bytes recommended). */
  secret: string | Buffer;
  credentialsLookup: CredentialsLookup;
  /** Algorithms offered, in preference order (RFC 8760 §2.4: strongest first). Default ["SHA-256", "MD5"]. */
  algorithms?: DigestAlgorithm[];
  /** Nonce lifetime in seconds. Default 300. */
  nonceTtlSeconds?: number;
  /** Tracked nonces for replay protection. Default 10,000. */
  maxTrackedNonces?: number;
  /** Check that the digest `uri` equals the Request-URI (§22.4). Default false (SIPp and others differ). */
  checkUri?: boolean;
  /** ms clock; default Date.now. */
  clock?: () => number;
  /**
   * 4 bytes carried in every nonce; a nonce with other bytes there is stale (see the module
   * comment). Default: none (nonces of any run with the same secret are accepted while fresh).
   */
  epoch?: Buffer;
  logger?: SipLogger;
}

export type DigestFailure =
  | "missing"
  | "malformed"
  | "unsupported-algorithm"
  | "realm-mismatch"
  | "invalid-nonce"
  | "stale"
  | "opaque-mismatch"
  | "uri-mismatch"
  | "unknown-user"
  | "bad-response"
  | "replay";

export type DigestVerification =
  | { ok: true; username: string; realm: string; algorithm: DigestAlgorithm }
  | { ok: false; failure: DigestFailure; stale: boolean; username?: string };

export interface DigestChallenge {
  /** `WWW-Authenticate` (registrar/UAS: 401) or `Proxy-Authenticate` (proxy: 407). */
  header: "WWW-Authenticate" | "Proxy-Authenticate";
  status: 401 | 407;
  /** One challenge per offered algorithm, strongest first. */
  values: string[];
}

const EPOCH_BYTES = 4;
const NONCE_RE = /^[A-Za-z0-9_-]{43}$/;
const NC_RE = /^[0-9a-fA-F]{8}$/;

export class DigestAuthenticator {
  readonly realm: string;
  private readonly secret: Buffer;
  private readonly lookup: CredentialsLookup;
  private readonly algorithms: DigestAlgorithm[];
  private readonly ttl: number;
  private readonly maxTracked: number;
  private readonly checkUri: boolean;
  private readonly clock: () => number;
  private readonly log: SipLogger;
  private readonly opaque: string;
  private readonly epoch?: Buffer;
  /**
   * nonce → highest nc seen and the nonce's issue time (Map iteration order = insertion order →
   * least recently used first). A tracked nonce was authenticated when it was first seen, so its
   * HMAC is not computed again on every request.
   */
  private readonly seen = new Map<string, { nc: number; issued: number }>();
  /** Issue time (ms) of the newest still-valid nonce evicted from `seen`. */
  private evictedWatermark = -1;

  constructor(options: DigestAuthenticatorOptions) {
    this.realm = options.realm;
    this.secret = Buffer.isBuffer(options.secret) ? options.secret : Buffer.from(options.secret, "utf8");
    this.lookup = options.credentialsLookup;
    this.algorithms = options.algorithms ?? [...DIGEST_ALGORITHMS];
    this.ttl = options.nonceTtlSeconds ?? 300;
    this.maxTracked = options.maxTrackedNonces ?? 10_000;
    this.checkUri = options.checkUri ?? false;
    this.clock = options.clock ?? Date.now;
    this.log = componentLogger("sip:digest", options.logger);
    this.opaque = createHmac("sha256", this.secret).update(`opaque:${this.realm}`).digest("base64url").slice(0, 22);
    if (options.epoch !== undefined && options.epoch.length !== EPOCH_BYTES) throw new RangeError(`digest epoch must be ${EPOCH_BYTES} bytes`);
    this.epoch = options.epoch;
  }

  /** A fresh self-validating nonce: issued-at ‖ epoch (or random) ‖ random ‖ MAC. */
  createNonce(): string {
    const payload = Buffer.alloc(16);
    payload.writeBigUInt64BE(BigInt(Math.floor(this.clock())), 0);
    randomBytes(8).copy(payload, 8);
    this.epoch?.copy(payload, 8);
    const mac = createHmac("sha256", this.secret).update(payload).digest().subarray(0, 16);
    return Buffer.concat([payload, mac]).toString("base64url");
  }

  /** Issue time (ms) and whether it is of our epoch, if the nonce is authentic; else undefined. */
  private nonceIssuedAt(nonce: string): { issued: number; ourEpoch: boolean } | undefined {
    if (!NONCE_RE.test(nonce)) return undefined;
    const raw = Buffer.from(nonce, "base64url");
    if (raw.length !== 32) return undefined;
    const mac = createHmac("sha256", this.secret).update(raw.subarray(0, 16)).digest().subarray(0, 16);
    if (!timingSafeEqual(mac, raw.subarray(16))) return undefined;
    return { issued: Number(raw.readBigUInt64BE(0)), ourEpoch: !this.epoch || raw.subarray(8, 8 + EPOCH_BYTES).equals(this.epoch) };
  }

  /** Build the challenge for a 401 (registrar/UAS) or 407 (`proxy: true`). */
  challenge(options: { proxy?: boolean; stale?: boolean } = {}): DigestChallenge {
    const nonce = this.createNonce();
    const values = this.algorithms.map((algorithm) =>
      serializeDigestHeader({
        realm: this.realm,
        nonce,
        opaque: this.opaque,
        algorithm,
        qop: '"auth"', // qop-options is a quoted-string in challenges
        stale: options.stale ? "true" : undefined,
      }),
    );
    return options.proxy
      ? { header: "Proxy-Authenticate", status: 407, values }
      : { header: "WWW-Authenticate", status: 401, values };
  }

  /**
   * Verify the credentials in a request (`Authorization`, or `Proxy-Authorization` with
   * `proxy: true`) whose realm is ours (or `credentials`, found by `credentialsIn`). On failure,
   * answer with `challenge({ stale })`.
   */
  verifyRequest(request: SipRequest, options: { proxy?: boolean; credentials?: DigestParams } = {}): Promise<DigestVerification> {
    // not an async function itself: the verification's promise is handed through (one layer fewer per request)
    const mine = options.credentials ?? this.credentialsIn(request, options);
    if (typeof mine === "string") return Promise.resolve({ ok: false, failure: mine, stale: false });
    // the Request-URI string is only needed for checkUri: not serialized otherwise
    return this.verifyCredentials(mine, request.method, this.checkUri ? request.uri.toString() : undefined);
  }

  /**
   * The request's digest credentials for our realm, unchecked (e.g. to count an attempt before
   * checking it), or why there are none.
   */
  credentialsIn(request: SipRequest, options: { proxy?: boolean } = {}): DigestParams | "malformed" | "realm-mismatch" | "missing" {
    const values = request.getHeaders(options.proxy ? "Proxy-Authorization" : "Authorization");
    for (const v of values) {
      try {
        const parsed = parseDigestHeader(v);
        if (parsed.scheme.toLowerCase() === "digest" && parsed.params.realm === this.realm) return parsed;
      } catch {
        return "malformed";
      }
    }
    return values.length ? "realm-mismatch" : "missing";
  }

  /** Transport-neutral verification (also usable for XCAP over HTTP: method + request path). */
  async verifyCredentials(credentials: DigestParams | string, method: string, requestUri?: string): Promise<DigestVerification> {
    let c: DigestParams;
    try {
      c = typeof credentials === "string" ? parseDigestHeader(credentials) : credentials;
    } catch {
      return { ok: false, failure: "malformed", stale: false };
    }
    const p = c.params;
    const username = p.username;
    const fail = (failure: DigestFailure, stale = false): DigestVerification => {
      this.log("info", `auth failed: ${failure}`, { username, realm: p.realm });
      return { ok: false, failure, stale, username };
    };
    if (c.scheme.toLowerCase() !== "digest") return fail("malformed");
    if (!username || !p.nonce || !p.uri || !p.response) return fail("malformed");
    if (p.realm !== this.realm) return fail("realm-mismatch");
    const algorithm = normalizeAlgorithm(p.algorithm);
    if (!algorithm || !this.algorithms.includes(algorithm)) return fail("unsupported-algorithm");
    // We always challenge with qop=auth (RFC 3261 §22.4 SHOULD); responses without it are refused.
    if ((p.qop ?? "").toLowerCase() !== "auth" || !p.cnonce || !p.nc || !NC_RE.test(p.nc)) return fail("malformed");
    if (p.opaque !== undefined && p.opaque !== this.opaque) return fail("opaque-mismatch");
    if (this.checkUri && requestUri !== undefined && p.uri !== requestUri) return fail("uri-mismatch");

    const tracked = this.seen.get(p.nonce);
    let issued = tracked?.issued;
    if (issued === undefined) {
      const authentic = this.nonceIssuedAt(p.nonce);
      if (!authentic) return fail("invalid-nonce");
      // a nonce of an earlier run: its nonce-counts are gone, a replay could not be told apart
      if (!authentic.ourEpoch) return fail("stale", true);
      issued = authentic.issued;
    }
    const now = this.clock();
    if (now - issued > this.ttl * 1000 || issued > now + 5000) return fail("stale", true); // RFC 2617 §3.2.1 stale=true

    const ha1 = await this.lookup(username, this.realm, algorithm);
    if (ha1 === undefined) return fail("unknown-user");
    const expected = computeDigestResponse({ algorithm, ha1: ha1.toLowerCase(), method, uri: p.uri, nonce: p.nonce, qop: "auth", nc: p.nc, cnonce: p.cnonce });
    const given = Buffer.from(p.response.toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) return fail("bad-response");

    // Replay protection: nonce-count must increase for a given nonce (RFC 2617 §3.2.2 nc).
    const nc = parseInt(p.nc, 16);
    const last = tracked;
    if (last === undefined) {
      if (issued <= this.evictedWatermark) return fail("stale", true); // could have been evicted: make the client refresh
    } else if (nc <= last.nc) {
      return fail("replay");
    }
    this.seen.delete(p.nonce);
    this.seen.set(p.nonce, { nc, issued });
    this.evictOld(now);
    return { ok: true, username, realm: this.realm, algorithm };
  }

  /** Number of nonces currently tracked for replay protection. */
  get trackedNonces(): number {
    return this.seen.size;
  }

  private evictOld(now: number): void {
    const ttlMs = this.ttl * 1000;
    for (const [nonce, { issued }] of this.seen) {
      const valid = now - issued <= ttlMs;
      if (this.seen.size <= this.maxTracked && valid) break; // least recently used still valid: stop
      if (valid) this.evictedWatermark = Math.max(this.evictedWatermark, issued);
      this.seen.delete(nonce);
    }
  }
}

/**
 * Whether a failed verification tested a password (what guessing limits count): a wrong response
 * or an unknown user. Not a stale nonce, a replay or a malformed header, nor short-lived
 * credentials past their expiry (nothing is checked: the client has to fetch new ones).
 */
export function testedPassword(v: { failure: DigestFailure; username?: string }, now = Date.now()): boolean {
  if (v.failure !== "bad-response" && v.failure !== "unknown-user") return false;
  const eph = v.username ? parseEphemeralUsername(v.username) : undefined;
  return !eph || eph.expires * 1000 > now;
}
