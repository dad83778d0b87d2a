/**
 * The embedded XCAP root over HTTP: authentication (HTTP digest with SIP credentials, qop=auth,
 * or the portal session), bounded bodies, and change events — around the framework-free core.
 */
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
  /** The portal session's AOR (user@domain), if any. */
  sessionAor: () => Promise<string | null>;
  onChange: (e: XcapChangeEvent) => void;
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
  /** In-process request on behalf of an already authenticated user (the portal's server actions). */
  handleAs(req: Request, aor: string): Promise<Response>;
}

export function createXcapHttp(opts: XcapHttpOptions): XcapHttp {
  const core: XcapServer = createXcapServer(opts.store, {
    maxBodyBytes: opts.maxBodyBytes,
    ...opts.limits,
    // no service URI may be an account's AOR or another account's derived URI (RFC 4826 §4.4.7)
    isUriTaken: serviceUriTaken(new PrismaAccountDirectory(opts.db)),
    onChange: async (e) => opts.onChange(e),
    onHookError: (err) => process.emitWarning(`xcap change hook failed: ${(err as Error).message}`),
  });
  const ttl = opts.credentialsTtlMs ?? CREDENTIALS_TTL_MS;
  const now = opts.now ?? Date.now;
  const lookup = sipCredentialsLookup(opts.db, opts.ephemeralSecret, { cache: new CredentialsCache({ ttlMs: ttl, now }) });
  /** One authenticator per domain: credentials are those of the domain's accounts, whatever its realm. */
  const authenticators = new Map<string, DigestAuthenticator>();
  const authenticator = ({ realm, domain }: { realm: string; domain: string }) => {
    const key = `${domain}\u0000${realm}`;
    let a = authenticators.get(key);
    if (!a) {
      if (authenticators.size >= 1024) authenticators.clear();
      a = new DigestAuthenticator({ realm, secret: opts.secret, credentialsLookup: lookup(domain), algorithms: ["MD5", "SHA-256"] });
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

  async function handle(req: Request, asUser?: string): Promise<Response> {
    {
      const url = new URL(req.url);
      // the portal server maps a non-default public root onto the internal route /xcap-root
      const prefix = url.pathname.startsWith(INTERNAL_ROOT + "/") ? INTERNAL_ROOT : opts.rootPath;
      if (!url.pathname.startsWith(prefix + "/")) return text(404, "Not Found");
      const path = url.pathname.slice(prefix.length + 1);
      // a "%" without two hex digits, or escapes that are not UTF-8, make no URI (RFC 3986 §2.1)
      if (!percentDecodes(path)) return text(400, "Malformed percent-encoding in the request URI");
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => (headers[k.toLowerCase()] = v));

      const declared = Number(headers["content-length"] ?? "0");
      if (Number.isFinite(declared) && declared > opts.maxBodyBytes) return text(413, "Request body too large");
      const body = await readBounded(req, opts.maxBodyBytes);
      if (!body) return text(413, "Request body too large");

      // The icon's XCAP URL is what PIDF's CIPID <icon> carries. Blink fetches the pres-content
      // document; a browser's <img> asks for an image: serve the same URL decoded (no auth, as
      // the icon is public).
      const icon = ICON_PATH_RE.exec(path);
      if (icon && (req.method === "GET" || req.method === "HEAD") && wantsImage(headers["accept"])) {
        const r = await servePresContentIcon(opts.store, decodeURIComponent(icon[1]), headers, decodeURIComponent(icon[2]));
        return new Response(req.method === "HEAD" || r.status === 304 ? null : Buffer.from(r.body), { status: r.status, headers: r.headers });
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
        const aor = await opts.sessionAor();
        if (aor) user = { aor };
      }

      const root = `${url.origin}${opts.rootPath}`;
      const res = await core.handle({ method: req.method, path, query: url.search, headers, body, user, rootUri: root });
      const out = new Headers(res.headers);
      if (res.status === 401 && realm) {
        for (const v of authenticator(realm).challenge({ stale }).values) out.append("WWW-Authenticate", v);
      }
      return new Response(res.status === 304 || req.method === "HEAD" ? null : (res.body as Uint8Array<ArrayBuffer>), { status: res.status, headers: out });
    }
  }
  return { handle: (req) => handle(req), handleAs: (req, aor) => handle(req, aor) };
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
function tooManyAttempts(retryAfterSeconds: number): Response {
  return new Response(`Too many failed authentication attempts; try again in ${retryAfterSeconds} s`, {
    status: 429,
    headers: { "content-type": "text/plain; charset=utf-8", "retry-after": String(retryAfterSeconds) },
  });
}

function text(status: number, msg: string) {
  return new Response(msg, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
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
