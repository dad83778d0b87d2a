/**
 * Who sends a request (RFC 3261 §22): the served domains (cached), digest authentication with the
 * account's HA1 (MD5 or SHA-256) or autheph short-lived credentials (`<expiry>:<user>`,
 * HMAC-SHA1 with the shared secret), the limiter of password guesses, and the connection trust
 * an authenticated request earns.
 *
 * REGISTER is challenged with 401 (registrar, UAS); out-of-dialog PUBLISH and SUBSCRIBE with 407,
 * as Kamailio does (`challengeStatus`), so a client that works against Kamailio works here.
 */
import { createHmac, randomBytes } from "node:crypto";
import {
  DigestAuthenticator,
  SipError,
  SipResponse,
  createResponse,
  ephemeralHa1,
  generateTag,
  parseEphemeralUsername,
  testedPassword,
  type DigestAlgorithm,
  type SipConnection,
  type SipLogger,
  type SipRequest,
  type SipTransport,
} from "../sip";
import type { AuthLimiter } from "../accounts/auth-limiter";
import type { AccountDirectory, ServedDomain } from "./account-directory";
import { aorOf, splitAor } from "./aor";

export interface Identity {
  aor: string;
  user: string;
  domain: string;
}

export interface SipAuthenticatorOptions {
  accounts: AccountDirectory;
  transport: SipTransport;
  /** Shared secret of the autheph short-lived credentials; omit to accept only account passwords. */
  ephemeralSecret?: string;
  /** Whether short-lived credentials of `address` (user@domain) expiring at `expires` (unix s) predate the account's last revocation: refused then. */
  ephemeralRevoked?: (address: string, expires: number) => boolean;
  /** Whether `address` (user@domain) had its sessions ended (password, disable, delete) at or after `since` (ms): a bridge flow opened before is no longer trusted. */
  revokedSince?: (address: string, since: number) => boolean;
  /** Digest algorithms offered, one challenge each in this order. Default ["MD5"] (see PresenceServerOptions). */
  digestAlgorithms?: DigestAlgorithm[];
  /** Status used to challenge PUBLISH/SUBSCRIBE: 407 (default) or 401. */
  challengeStatus?: 401 | 407;
  /** How long the domain list is cached (ms). Default 5000. */
  domainsCacheMs?: number;
  /** The process's limiter of password guesses. Default: no limit. */
  authLimiter?: AuthLimiter;
  now: () => number;
  logger?: SipLogger;
}

export class SipAuthenticator {
  private readonly o: SipAuthenticatorOptions;
  private readonly nonceSecret: Buffer;
  /** In every nonce: a nonce of an earlier run (nonce-counts lost) is answered stale=true. */
  private readonly nonceEpoch = randomBytes(4);
  private readonly authenticators = new Map<string, DigestAuthenticator>();
  private domains?: { at: number; list: Promise<ServedDomain[]>; ready?: ServedDomain[] };

  constructor(options: SipAuthenticatorOptions) {
    this.o = options;
    // nonces stay authentic across a restart when derived from the configured secret; the per-run
    // epoch makes an earlier run's nonce stale (its nonce-counts are gone: replays)
    this.nonceSecret = options.ephemeralSecret ? createHmac("sha256", options.ephemeralSecret).update("herald-sip-nonce").digest() : randomBytes(32);
  }

  /** PUBLISH and SUBSCRIBE are challenged as a proxy would (407) unless configured for 401. */
  get proxyChallenge(): boolean {
    return this.o.challengeStatus !== 401;
  }

  private servedDomains(): Promise<ServedDomain[]> {
    const now = Date.now();
    if (!this.domains || now - this.domains.at > (this.o.domainsCacheMs ?? 5000)) {
      const list = this.o.accounts.listDomains();
      const entry: { at: number; list: Promise<ServedDomain[]>; ready?: ServedDomain[] } = { at: now, list };
      this.domains = entry;
      list.then(
        (l) => (entry.ready = l),
        () => {
          if (this.domains === entry) this.domains = undefined;
        },
      );
    }
    return this.domains.list;
  }

  /** The served domain `name`: synchronously while the cached list is fresh (no promise per request). */
  domain(name: string): ServedDomain | undefined | Promise<ServedDomain | undefined> {
    const n = name.toLowerCase();
    const c = this.domains;
    if (c?.ready && Date.now() - c.at <= (this.o.domainsCacheMs ?? 5000)) return c.ready.find((d) => d.name === n);
    return this.servedDomains().then((l) => l.find((d) => d.name === n));
  }

  /**
   * `aor` is a local presentity of a served domain: an active account, or a virtual presentity
   * (an address with operator-set presence and no account).
   */
  async isLocalPresentity(aor: string): Promise<boolean> {
    const { user, domain } = splitAor(aor);
    if ((await this.domain(domain)) === undefined) return false;
    const accounts = this.o.accounts;
    return (await accounts.accountStatus(user, domain)) === "active" || ((await accounts.isVirtualPresentity?.(user, domain)) ?? false);
  }

  private digest(d: ServedDomain): DigestAuthenticator {
    let a = this.authenticators.get(d.name);
    if (!a) {
      a = new DigestAuthenticator({
        realm: d.realm,
        secret: this.nonceSecret,
        credentialsLookup: (username, _realm, algorithm) => this.lookupHa1(d, username, algorithm),
        algorithms: this.o.digestAlgorithms ?? ["MD5"],
        clock: this.o.now,
        epoch: this.nonceEpoch,
        logger: this.o.logger,
      });
      this.authenticators.set(d.name, a);
    }
    return a;
  }

  private lookupHa1(d: ServedDomain, username: string, algorithm: DigestAlgorithm): Promise<string | undefined> {
    const eph = parseEphemeralUsername(username);
    if (eph) {
      if (!this.o.ephemeralSecret) return Promise.resolve(undefined);
      // issued to a session that has ended since (password changed, disabled): unknown
      if (this.o.ephemeralRevoked?.(`${eph.user}@${d.name}`, eph.expires)) return Promise.resolve(undefined);
      return Promise.resolve(ephemeralHa1({ secret: this.o.ephemeralSecret, username, realm: d.realm, algorithm, now: this.o.now() }));
    }
    const { user, domain } = userAndDomain(username, d.name);
    if (domain !== d.name) return Promise.resolve(undefined);
    return this.o.accounts.lookupHa1(user, domain, algorithm);
  }

  /**
   * Digest-authenticate `request` for an identity in `domainName` (401 for REGISTER, 407 else).
   * Returns the identity, or a challenge/403 response.
   */
  async authenticate(request: SipRequest, domainName: string, proxy: boolean, conn: SipConnection): Promise<Identity | SipResponse> {
    // a SUBSCRIBE whose watcher the in-process peer vouches for (the XMPP gateway's flow for its
    // XMPP users, SipConnection.asserts): authenticated by that peer, not by digest
    const asserted = request.method === "SUBSCRIBE" ? aorOf(request.from.uri) : undefined;
    if (asserted && conn.asserts(asserted)) return { aor: asserted, ...splitAor(asserted) };
    const d = await this.domain(domainName);
    if (!d) throw new SipError(403, "Domain not served here");
    const flowUser = await this.flowIdentity(request, d, conn);
    if (flowUser) return flowUser;
    const auth = this.digest(d);
    const v = await this.verifyLimited(auth, d, request, proxy, conn);
    if (!v.ok) {
      const ch = auth.challenge({ proxy, stale: v.stale });
      const res = createResponse(request, ch.status, { toTag: request.to.tag === undefined ? generateTag() : undefined });
      for (const value of ch.values) res.addHeader(ch.header, value);
      return res;
    }
    const eph = parseEphemeralUsername(v.username);
    const { user, domain } = userAndDomain(eph ? eph.user : v.username, d.name);
    if (domain !== d.name) throw new SipError(403, "Identity not in this domain");
    if ((await this.o.accounts.accountStatus(user, domain)) !== "active") throw new SipError(403, "Account disabled or unknown");
    return { aor: `sip:${user}@${domain}`, user, domain };
  }

  /**
   * A request of the user a bridge flow was opened for (SipConnection.openedFor): the WebSocket
   * was accepted for that portal session (account, session epoch and enabled checked), the bridge
   * refuses any other From (403), and the flow is closed when the account's sessions end. Its
   * requests are that user's without a digest round trip — as a connection authenticated by a TLS
   * client certificate would be.
   * Checked on each request: the account is still active and its sessions were not ended since
   * the flow opened (else digest decides, which refuses the page's revoked credentials too).
   */
  private async flowIdentity(request: SipRequest, d: ServedDomain, conn: SipConnection): Promise<Identity | undefined> {
    if (!conn.openedFor) return undefined;
    const from = aorOf(request.from.uri);
    if (from !== conn.openedFor) return undefined;
    const { user, domain } = splitAor(from);
    if (domain !== d.name || this.o.revokedSince?.(`${user}@${domain}`, conn.openedAt)) return undefined;
    if ((await this.o.accounts.accountStatus(user, domain)) !== "active") return undefined;
    return { aor: from, user, domain };
  }

  /**
   * Verify the credentials, counted by the auth limiter before the check (keyed by the claimed
   * account and the client address); the challenge round without credentials is not counted.
   * 503 + Retry-After when refused: a temporary condition the client retries after (403 would tell
   * a phone to give up; SIP's 429 means something else, RFC 3892). RFC 3263 clients may try another
   * server of the domain first.
   */
  private async verifyLimited(auth: DigestAuthenticator, d: ServedDomain, request: SipRequest, proxy: boolean, conn: SipConnection) {
    const limiter = this.o.authLimiter;
    const creds = limiter ? auth.credentialsIn(request, { proxy }) : undefined;
    if (!limiter || typeof creds !== "object" || !creds.params.username) return auth.verifyRequest(request, { proxy });
    const eph = parseEphemeralUsername(creds.params.username);
    const { user, domain } = userAndDomain(eph ? eph.user : creds.params.username, d.name);
    // a bridge flow's client is the browser behind it (its `clientAddress`), not the flow's peer
    const address = conn.clientAddress;
    const attempt = limiter.attempt({ account: `${user}@${domain}`, address });
    if (!attempt.allowed) {
      throw new SipError(503, "Too Many Failed Authentication Attempts", { headers: [["Retry-After", String(attempt.retryAfterSeconds)]] });
    }
    try {
      const v = await auth.verifyRequest(request, { proxy, credentials: creds });
      if (v.ok) attempt.succeeded();
      else if (testedPassword(v, this.o.now())) attempt.failed();
      return v;
    } finally {
      attempt.released(); // no-op once settled
    }
  }

  /**
   * `aor` authenticated on `conn` (and is the identity the request claims): it owns the
   * connection, and the `;alias` the request offers is honoured (RFC 5923 §9).
   */
  trustConnection(conn: SipConnection, request: SipRequest, aor: string): void {
    conn.addOwner(aor);
    const alias = this.o.transport.offeredAlias(request, conn);
    if (alias) this.o.transport.addAlias(conn, alias.host, alias.port);
  }
}

function userAndDomain(username: string, defaultDomain: string): { user: string; domain: string } {
  const at = username.lastIndexOf("@");
  if (at < 0) return { user: username, domain: defaultDomain };
  return { user: username.slice(0, at), domain: username.slice(at + 1).toLowerCase() };
}
