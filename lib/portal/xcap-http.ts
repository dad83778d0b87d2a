/**
 * The embedded XCAP root over HTTP: authentication (HTTP digest with SIP credentials, qop=auth,
 * or the portal session), bounded bodies, and change events — around the framework-free core.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  createXcapServer,
  servePresContentIcon,
  type XcapChangeEvent,
  type XcapServer,
  type XcapServerOptions,
  type XcapStore,
} from "../xcap/server";
import { DigestAuthenticator, parseDigestHeader, testedPassword } from "../sip";
import type { Db } from "../db";
import { PrismaXcapStore } from "../storage/xcap-prisma-store";
import { CREDENTIALS_TTL_MS, CredentialsCache, digestAccountUser, sipCredentialsLookup } from "../accounts/digest-lookup";
import { accountsGeneration } from "../accounts/changes";
import { PrismaAccountDirectory, serviceUriTaken } from "../server/account-directory";
import { departmentListTaken } from "../accounts/department-lists";
import type { AuthAttemptSlot, AuthLimiter } from "../accounts/auth-limiter";
import { CLIENT_IP_HEADER } from "./client-address";
import { AUID } from "../presence/namespaces";

/**
 * How long the portal serves a document from its cache before reading the database again. Writes
 * through the portal update the cache at once; this bounds how long a write by another process on
 * the same database (a second portal process) can go unseen by GETs here. Writes are never lost:
 * they are compare-and-set on the ETag in the database.
 */
export const XCAP_DOCUMENT_CACHE_TTL_MS = 1_000;

/** The portal's XCAP store: Prisma with the per-process document cache (see xcap-prisma-store.ts). */
export function portalXcapStore(db: Db, options: { ttlMs?: number; now?: () => number } = {}): PrismaXcapStore {
  return new PrismaXcapStore(db, { cache: { ttlMs: options.ttlMs ?? XCAP_DOCUMENT_CACHE_TTL_MS, ...(options.now ? { now: options.now } : {}) } });
}

/** The Next.js route of the XCAP root (app/xcap-root). */
export const INTERNAL_ROOT = "/xcap-root";

export interface XcapHttpOptions {
  db: Db;
  store: XcapStore;
  /** Public path of the XCAP root (XCAP_ROOT_PATH), e.g. "/xcap-root". */
  rootPath: string;
  maxBodyBytes: number;
  /** Per-user quotas and the depth limit (XCAP_MAX_DOCUMENTS_PER_USER, …); the core's defaults where absent. */
  limits?: Pick<XcapServerOptions, "maxDocumentsPerUser" | "maxBytesPerUser" | "maxDepth">;
  /** Secret for digest nonces (and short-lived SIP credentials). */
  secret: string;
  ephemeralSecret: string;
  /** Short-lived credentials issued before the account's last revocation are refused (see lib/accounts/revocations.ts). */
  ephemeralRevoked?: (address: string, expires: number) => boolean;
  /** The portal session's AOR (user@domain), if any. */
  sessionAor: () => Promise<string | null>;
  onChange: (e: XcapChangeEvent) => void;
  /** Told of every answered request (method, status): XCAP requests by status on /metrics. */
  onServed?: (method: string, status: number) => void;
  /**
   * How long digest credentials (account HA1s) and realms are reused without a query, ms. Default
   * 5000. Account writes in this process take effect at once; writes by another process (the CLI)
   * within this time. 0: query on every request.
   */
  credentialsTtlMs?: number;
  /** Clock for those caches (tests). Default Date.now. */
  now?: () => number;
  /**
   * The process's limiter of password guesses (shared with portal login and SIP digest); digest
   * credentials it refuses get 429 with Retry-After without being checked. Default: no limit.
   */
  authLimiter?: AuthLimiter;
}

export interface XcapHttp {
  handle(req: Request): Promise<Response>;
  /**
   * The same over Node's HTTP objects (`herald start` serves the XCAP root before Next.js routing):
   * `sessionAor` is the portal session of this request; `origin`, of the XCAP root URI in
   * responses (default from the request's Host).
   */
  handleNode(req: IncomingMessage, res: ServerResponse, options: { sessionAor: () => Promise<string | null>; origin?: string }): Promise<void>;
  /** In-process request on behalf of an already authenticated user (the portal's server actions). */
  handleAs(req: Request, aor: string): Promise<Response>;
}

function uriTaken(...checks: Array<(uri: string, owner: string) => Promise<boolean>>): (uri: string, owner: string) => Promise<boolean> {
  return async (uri, owner) => {
    for (const c of checks) if (await c(uri, owner)) return true;
    return false;
  };
}

export function createXcapHttp(opts: XcapHttpOptions): XcapHttp {
  const core: XcapServer = createXcapServer(opts.store, {
    maxBodyBytes: opts.maxBodyBytes,
    ...opts.limits,
    // no service URI may be an account's AOR, another account's derived URI or a department list (RFC 4826 §4.4.7)
    isUriTaken: uriTaken(serviceUriTaken(new PrismaAccountDirectory(opts.db)), (uri) => departmentListTaken(opts.db, uri)),
    onChange: async (e) => opts.onChange(e),
    onHookError: (err) => process.emitWarning(`xcap change hook failed: ${(err as Error).message}`),
  });
  const ttl = opts.credentialsTtlMs ?? CREDENTIALS_TTL_MS;
  const now = opts.now ?? Date.now;
  const lookup = sipCredentialsLookup(opts.db, opts.ephemeralSecret, { cache: new CredentialsCache({ ttlMs: ttl, now }), ephemeralRevoked: opts.ephemeralRevoked });
  /** One authenticator per domain: credentials are those of the domain's accounts, whatever its realm. */
  const authenticators = new Map<string, DigestAuthenticator>();
  // nonce-counts live in this process: a nonce of an earlier run (same secret, so still authentic)
  // is answered stale, so a request captured before a restart cannot be replayed after it
  let nonceEpoch = randomBytes(4);
  const authenticator = ({ realm, domain }: { realm: string; domain: string }) => {
    const key = `${domain}\u0000${realm}`;
    let a = authenticators.get(key);
    if (!a) {
      if (authenticators.size >= 1024) {
        // the counts go with the authenticators: a new epoch makes their nonces stale
        authenticators.clear();
        nonceEpoch = randomBytes(4);
      }
      a = new DigestAuthenticator({ realm, secret: opts.secret, credentialsLookup: lookup(domain), algorithms: ["MD5", "SHA-256"], epoch: nonceEpoch });
      authenticators.set(key, a);
    }
    return a;
  };

  /**
   * Realms by domain name, for a few seconds: a Prisma query costs as much CPU as the XCAP request
   * itself. Only the realm to challenge with comes from here; whether an account (and its domain)
   * is enabled is still checked on every request by the credentials lookup.
   */
  const realms = new Map<string, { until: number; value: { realm: string; domain: string } | null }>();
  let realmsGeneration = accountsGeneration();

  /** The realm to challenge with: the domain of the XUI in the path, else the first domain. */
  async function realmFor(path: string): Promise<{ realm: string; domain: string } | null> {
    const m = /^[^/]+\/users\/([^/]+)\//.exec(path);
    let domainName: string | undefined;
    if (m) {
      const xui = decodeURIComponent(m[1]).replace(/^sips?:/i, "");
      domainName = xui.slice(xui.lastIndexOf("@") + 1).toLowerCase();
    }
    const t = now();
    if (realmsGeneration !== accountsGeneration()) {
      realms.clear();
      realmsGeneration = accountsGeneration();
    }
    const cached = realms.get(domainName ?? "");
    if (cached && cached.until > t) return cached.value;
    const d = domainName
      ? await opts.db.domain.findFirst({ where: { name: domainName, enabled: true } })
      : await opts.db.domain.findFirst({ where: { enabled: true }, orderBy: { id: "asc" } });
    const value = d ? { realm: d.realm, domain: d.name } : null;
    if (realms.size >= 1024) realms.clear();
    realms.set(domainName ?? "", { until: t + ttl, value });
    return value;
  }

  /**
   * One request, whatever carried it (a fetch Request from the Next.js route or in-process callers,
   * or Node's IncomingMessage in `herald start`'s own HTTP server).
   */
  async function serve(req: NeutralRequest, asUser: string | undefined, sessionAor: () => Promise<string | null>): Promise<NeutralResponse> {
    const r = await answer(req, asUser, sessionAor);
    opts.onServed?.(req.method, r.status);
    return r;
  }

  async function answer(req: NeutralRequest, asUser: string | undefined, sessionAor: () => Promise<string | null>): Promise<NeutralResponse> {
    const url = req.url;
    // the portal server maps a non-default public root onto the internal route /xcap-root
    const prefix = url.pathname.startsWith(INTERNAL_ROOT + "/") ? INTERNAL_ROOT : opts.rootPath;
    if (!url.pathname.startsWith(prefix + "/")) return plain(404, "Not Found");
    const path = url.pathname.slice(prefix.length + 1);
    // a "%" without two hex digits, or escapes that are not UTF-8, make no URI (RFC 3986 §2.1)
    if (!percentDecodes(path)) return plain(400, "Malformed percent-encoding in the request URI");
    const headers = req.headers;

    const declared = Number(headers["content-length"] ?? "0");
    if (Number.isFinite(declared) && declared > opts.maxBodyBytes) return plain(413, "Request body too large");
    const body = await req.readBody(opts.maxBodyBytes);
    if (!body) return plain(413, "Request body too large");

    // The icon's XCAP URL is what PIDF's CIPID <icon> carries. Blink fetches the pres-content
    // document; a browser's <img> asks for an image: serve the same URL decoded (no auth, as
    // the icon is public).
    const icon = ICON_PATH_RE.exec(path);
    if (icon && (req.method === "GET" || req.method === "HEAD") && wantsImage(headers["accept"])) {
      const r = await servePresContentIcon(opts.store, decodeURIComponent(icon[1]), headers, decodeURIComponent(icon[2]));
      return { status: r.status, headers: r.headers, challenges: [], body: req.method === "HEAD" || r.status === 304 ? null : r.body };
    }

    const realm = await realmFor(path);
    let user: { aor: string } | null = asUser ? { aor: asUser } : null;
    let stale = false;
    const authz = headers["authorization"];
    if (asUser) {
      /* authenticated by the caller */
    } else if (authz && /^digest\s/i.test(authz) && realm) {
      // counted before the check (the slot is taken synchronously): a refused guess is not tried
      let slot: AuthAttemptSlot | undefined;
      if (opts.authLimiter) {
        const username = digestUsername(authz);
        if (username) {
          const attempt = opts.authLimiter.attempt({ account: `${digestAccountUser(username)}@${realm.domain}`, address: headers[CLIENT_IP_HEADER] ?? "unknown" });
          if (!attempt.allowed) return tooManyAttempts(attempt.retryAfterSeconds);
          slot = attempt;
        }
      }
      try {
        const v = await authenticator(realm).verifyCredentials(authz, req.method);
        if (v.ok) {
          slot?.succeeded();
          user = { aor: `${digestAccountUser(v.username)}@${realm.domain}` };
        } else {
          if (testedPassword(v)) slot?.failed();
          stale = v.stale;
        }
      } finally {
        slot?.released(); // no-op once settled
      }
    } else {
      const aor = await sessionAor();
      if (aor) user = { aor };
    }

    const root = `${req.origin ?? url.origin}${opts.rootPath}`;
    const res = await core.handle({ method: req.method, path, query: url.search, headers, body, user, rootUri: root });
    const challenges = res.status === 401 && realm ? authenticator(realm).challenge({ stale }).values : [];
    return { status: res.status, headers: res.headers, challenges, body: res.status === 304 || req.method === "HEAD" ? null : res.body };
  }

  async function handle(req: Request, asUser?: string): Promise<Response> {
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => (headers[k.toLowerCase()] = v));
    const r = await serve({ method: req.method, url: new URL(req.url), headers, readBody: (max) => readBounded(req, max) }, asUser, opts.sessionAor);
    const out = new Headers(r.headers);
    for (const v of r.challenges) out.append("WWW-Authenticate", v);
    return new Response(r.body as Uint8Array<ArrayBuffer> | null, { status: r.status, headers: out });
  }

  async function handleNode(req: IncomingMessage, res: ServerResponse, options: { sessionAor: () => Promise<string | null>; origin?: string }): Promise<void> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    const origin = options.origin ?? `${(req.socket as { encrypted?: boolean }).encrypted ? "https" : "http"}://${headers["host"] ?? "localhost"}`;
    let url: URL;
    try {
      url = new URL(req.url ?? "/", origin);
    } catch {
      url = new URL("http://localhost/");
    }
    const r = await serve({ method: req.method ?? "GET", url, origin, headers, readBody: (max) => readBoundedNode(req, max) }, undefined, options.sessionAor);
    const out: Record<string, string | string[]> = { ...r.headers };
    if (r.challenges.length) out["www-authenticate"] = [...r.challenges];
    // an unread (too large) body stays on the connection: do not read another request after it
    if (r.status === 413) out["connection"] = "close";
    if (r.body && !("content-length" in out)) out["content-length"] = String(r.body.byteLength);
    res.writeHead(r.status, out);
    res.end(r.body ?? undefined);
  }

  return { handle: (req) => handle(req), handleAs: (req, aor) => handle(req, aor), handleNode };
}

interface NeutralRequest {
  method: string;
  url: URL;
  /** Origin of the XCAP root URI in responses (default the URL's). */
  origin?: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The body, or null past `max` bytes (read no further). */
  readBody(max: number): Promise<Uint8Array | null>;
}

interface NeutralResponse {
  status: number;
  headers: Record<string, string>;
  /** WWW-Authenticate values, one header each. */
  challenges: readonly string[];
  body: Uint8Array | null;
}

const ICON_PATH_RE = new RegExp(`^${AUID.presContent.replace(/\./g, "\\.")}/users/([^/]+)/(.+)$`);

/** An Accept header that prefers images over XML (what <img> sends). */
function wantsImage(accept: string | undefined): boolean {
  if (!accept) return false;
  return /image\/(\*|png|jpeg|gif|avif|webp)/i.test(accept) && !/xml/i.test(accept);
}

function percentDecodes(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/** The user name of digest credentials, before they are checked (undefined when malformed). */
function digestUsername(authz: string): string | undefined {
  try {
    return parseDigestHeader(authz).params.username || undefined;
  } catch {
    return undefined;
  }
}

/** RFC 6585 §4: too many requests, with when to try again. */
function tooManyAttempts(retryAfterSeconds: number): NeutralResponse {
  const r = plain(429, `Too many failed authentication attempts; try again in ${retryAfterSeconds} s`);
  r.headers["retry-after"] = String(retryAfterSeconds);
  return r;
}

function plain(status: number, msg: string): NeutralResponse {
  return { status, headers: { "content-type": "text/plain; charset=utf-8" }, challenges: [], body: Buffer.from(msg) };
}

/** A Node request's body, or null when it exceeds the limit (then the rest is not read). */
function readBoundedNode(req: IncomingMessage, max: number): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.byteLength;
      if (size > max) {
        cleanup();
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

/** The request body, or null when it exceeds the limit (read no further than the limit). */
async function readBounded(req: Request, max: number): Promise<Uint8Array | null> {
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
