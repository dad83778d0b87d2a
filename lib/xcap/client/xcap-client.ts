/**
 * XCAP client (RFC 4825) for any XCAP root: Herald's embedded server, OpenXCAP, Kamailio's
 * xcap_server. Documents are edited as DOM trees in place, so elements, attributes and
 * namespaces this client does not know survive every write.
 *
 * Concurrency: `update()` is GET → mutate → PUT with If-Match (RFC 4825 §7.11, RFC 9110
 * §13.1.1); a 412 means another writer won, so the document is re-read and the mutation
 * re-applied, a bounded number of times.
 */
import { parseXml, serializeXml, type XmlDocument } from "../../xml";
import {
  buildDigestAuthorization,
  isSupportedChallenge,
  parseDigestChallenges,
  type DigestChallenge,
  type DigestCredentials,
} from "./digest";
import { documentPath, encodeNodeSelector, joinRoot } from "./uri";
import { XcapClientError, parseXcapErrorBody } from "./xcap-error";

export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

/** A custom header provider, e.g. the portal session cookie for Herald's own XCAP root. */
export interface XcapHeaderAuth {
  headers: (request: { method: string; url: string }) => Record<string, string> | Promise<Record<string, string>>;
}

export type XcapAuth = DigestCredentials | XcapHeaderAuth;

export interface XcapClientOptions {
  /** XCAP root URI, e.g. `https://xcap.example.com/xcap-root` (trailing slash optional) */
  root: string;
  /** XCAP User Identifier, `sip:user@domain` */
  xui: string;
  /** HTTP digest credentials (HA1, no password) or a header provider; none by default */
  auth?: XcapAuth;
  /** fetch implementation; default `globalThis.fetch` */
  fetch?: FetchFn;
  /** attempts of `update()` before giving up on repeated 412s; default 5 */
  maxUpdateAttempts?: number;
  /**
   * How to send the "any entity" wildcard in If-None-Match. RFC 9110 says `*`; Kamailio's
   * xcap_server only understands the quoted form `"*"`. Default `*`.
   */
  wildcard?: "*" | '"*"';
  /** per-request timeout in ms; default 15000 */
  timeoutMs?: number;
  /** User-Agent header; default `Herald-XCAP`. */
  userAgent?: string;
}

export interface XcapResource {
  /** body text (a document, an element fragment, ...) */
  xml: string;
  /** entity tag of the whole document, quoted as on the wire (`"abc"`), null if the server sent none */
  etag: string | null;
  contentType: string | null;
}

export interface WriteConditions {
  /** entity tag the document must still have (If-Match) */
  ifMatch?: string;
  /** `*` to require that the document does not exist yet (If-None-Match: *) */
  ifNoneMatch?: "*" | string;
}

export interface WriteResult {
  etag: string | null;
  /** true when the server answered 201 Created */
  created: boolean;
}

export interface UpdateOptions {
  /** builds the document when it does not exist; without it a missing document is a 404 XcapClientError */
  create?: () => XmlDocument | string;
  /** overrides the client's maxUpdateAttempts for this call */
  maxAttempts?: number;
  /** global tree instead of the user's */
  global?: boolean;
  contentType?: string;
}

export interface UpdateResult {
  /** the document as last written (or read, when nothing changed) */
  document: XmlDocument;
  etag: string | null;
  /** false when the mutation changed nothing or returned false: no PUT was sent */
  changed: boolean;
  /** number of GET/PUT rounds used */
  attempts: number;
}

/** Mutation applied by `update()`: edit the DOM in place; return false to skip writing. */
export type DocumentMutation = (doc: XmlDocument) => void | false;

/** MIME types of the application usages (RFC 4825 §12, RFC 4826, RFC 5025, OMA). */
export const AUID_CONTENT_TYPES: Readonly<Record<string, string>> = {
  "resource-lists": "application/resource-lists+xml",
  "rls-services": "application/rls-services+xml",
  "pres-rules": "application/auth-policy+xml",
  "org.openmobilealliance.pres-rules": "application/auth-policy+xml",
  "org.openxcap.dialog-rules": "application/auth-policy+xml",
  "pidf-manipulation": "application/pidf+xml",
  "org.openmobilealliance.pres-content": "application/vnd.oma.pres-content+xml",
  "xcap-caps": "application/xcap-caps+xml",
  "org.openmobilealliance.xcap-directory": "application/vnd.oma.xcap-directory+xml",
};

export const XCAP_ELEMENT_CONTENT_TYPE = "application/xcap-el+xml";

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

function isDigest(auth: XcapAuth | undefined): auth is DigestCredentials {
  return !!auth && "ha1" in auth;
}

/** Entity tags are kept in their quoted wire form; an unquoted one from a lax server is quoted. */
function normalizeEtag(v: string | null): string | null {
  if (v === null) return null;
  const t = v.trim();
  if (!t) return null;
  if (t.startsWith('"') || t.startsWith('W/"')) return t;
  return `"${t}"`;
}

export class XcapClient {
  readonly root: string;
  readonly xui: string;
  private readonly auth?: XcapAuth;
  private readonly fetchFn: FetchFn;
  private readonly maxUpdateAttempts: number;
  private readonly wildcard: string;
  private readonly timeoutMs: number;
  private readonly userAgent: string;
  /** last digest challenge accepted, reused pre-emptively with an increasing nonce count */
  private digest?: { challenge: DigestChallenge; nc: number };

  constructor(options: XcapClientOptions) {
    if (!/^https?:\/\//i.test(options.root)) throw new TypeError(`XCAP root must be an http(s) URI: ${options.root}`);
    if (!/^sips?:[^@\s]+@[^@\s]+$/i.test(options.xui)) throw new TypeError(`XUI must be sip:user@domain: ${options.xui}`);
    this.root = options.root.replace(/\/+$/, "");
    this.xui = options.xui;
    this.auth = options.auth;
    const f = options.fetch ?? (globalThis.fetch as FetchFn | undefined);
    if (!f) throw new TypeError("no fetch implementation available");
    this.fetchFn = f;
    this.maxUpdateAttempts = Math.max(1, options.maxUpdateAttempts ?? 5);
    this.wildcard = options.wildcard ?? "*";
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.userAgent = options.userAgent ?? "Herald-XCAP";
  }

  /** Percent-encoded URI of a document (and node, when a selector is given). */
  uri(auid: string, document: string, selector?: string, global = false): string {
    const base = joinRoot(this.root, documentPath(this.xui, { auid, document, global }));
    return selector === undefined ? base : `${base}/~~${encodeNodeSelector(selector)}`;
  }

  // ---- documents -------------------------------------------------------------------------

  /** GET a document; null when it does not exist (404). */
  async getDocument(auid: string, document = "index", opts: { global?: boolean } = {}): Promise<XcapResource | null> {
    return this.getResource(this.uri(auid, document, undefined, opts.global));
  }

  /** PUT a whole document, optionally conditional (If-Match etag / If-None-Match *). */
  async putDocument(
    auid: string,
    document: string,
    xml: string | XmlDocument,
    cond: WriteConditions & { contentType?: string; global?: boolean } = {},
  ): Promise<WriteResult> {
    let body = typeof xml === "string" ? xml : serializeXml(xml);
    if (!body.startsWith("<?xml")) body = XML_DECL + body;
    const contentType = cond.contentType ?? AUID_CONTENT_TYPES[auid] ?? "application/xml";
    return this.write("PUT", this.uri(auid, document, undefined, cond.global), cond, body, contentType);
  }

  /** DELETE a document; false when it did not exist (404). */
  async deleteDocument(auid: string, document = "index", cond: WriteConditions & { global?: boolean } = {}): Promise<boolean> {
    try {
      await this.write("DELETE", this.uri(auid, document, undefined, cond.global), cond);
      return true;
    } catch (err) {
      if (err instanceof XcapClientError && err.status === 404) return false;
      throw err;
    }
  }

  // ---- elements (node selectors) ---------------------------------------------------------

  /** GET an element by node selector (e.g. `/resource-lists/list[@name="x"]`); null on 404. */
  async getElement(auid: string, document: string, selector: string, opts: { global?: boolean } = {}): Promise<XcapResource | null> {
    return this.getResource(this.uri(auid, document, selector, opts.global));
  }

  /** PUT (create or replace) an element; `xml` is the element fragment. */
  async putElement(
    auid: string,
    document: string,
    selector: string,
    xml: string,
    cond: WriteConditions & { global?: boolean } = {},
  ): Promise<WriteResult> {
    return this.write("PUT", this.uri(auid, document, selector, cond.global), cond, xml, XCAP_ELEMENT_CONTENT_TYPE);
  }

  /** DELETE an element; false when it did not exist (404). */
  async deleteElement(auid: string, document: string, selector: string, cond: WriteConditions & { global?: boolean } = {}): Promise<boolean> {
    try {
      await this.write("DELETE", this.uri(auid, document, selector, cond.global), cond);
      return true;
    } catch (err) {
      if (err instanceof XcapClientError && err.status === 404) return false;
      throw err;
    }
  }

  // ---- read-modify-write -----------------------------------------------------------------

  /**
   * GET → mutate → conditional PUT. On 412 (someone else wrote in between) the document is
   * read again and the mutation re-applied, up to maxAttempts times; then the 412 XcapClientError
   * is thrown. The mutation must therefore be deterministic given the document it receives.
   */
  async update(auid: string, document: string, mutate: DocumentMutation, opts: UpdateOptions = {}): Promise<UpdateResult> {
    const maxAttempts = Math.max(1, opts.maxAttempts ?? this.maxUpdateAttempts);
    let lastError: XcapClientError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const current = await this.getDocument(auid, document, { global: opts.global });
      let doc: XmlDocument;
      if (current) {
        doc = parseXml(current.xml);
      } else if (opts.create) {
        const made = opts.create();
        doc = typeof made === "string" ? parseXml(made) : made;
      } else {
        throw new XcapClientError(404, `${auid}/${document} does not exist`, { method: "GET", url: this.uri(auid, document) });
      }
      const before = current ? serializeXml(doc) : undefined;
      if (mutate(doc) === false) return { document: doc, etag: current?.etag ?? null, changed: false, attempts: attempt };
      if (before !== undefined && serializeXml(doc) === before) {
        return { document: doc, etag: current?.etag ?? null, changed: false, attempts: attempt };
      }
      const cond: WriteConditions = current ? (current.etag ? { ifMatch: current.etag } : {}) : { ifNoneMatch: "*" };
      try {
        const res = await this.putDocument(auid, document, doc, { ...cond, global: opts.global, contentType: opts.contentType });
        return { document: doc, etag: res.etag, changed: true, attempts: attempt };
      } catch (err) {
        if (err instanceof XcapClientError && err.status === 412) {
          lastError = err;
          continue;
        }
        throw err;
      }
    }
    throw lastError ?? new XcapClientError(412, "precondition failed");
  }

  // ---- HTTP ------------------------------------------------------------------------------

  private async getResource(url: string): Promise<XcapResource | null> {
    const res = await this.send("GET", url, {});
    if (res.status === 404) {
      await res.arrayBuffer().catch(() => undefined);
      return null;
    }
    const text = await res.text();
    if (res.status !== 200) throw await this.failure("GET", url, res, text);
    return { xml: text, etag: normalizeEtag(res.headers.get("etag")), contentType: res.headers.get("content-type") };
  }

  private async write(
    method: "PUT" | "DELETE",
    url: string,
    cond: WriteConditions,
    body?: string,
    contentType?: string,
  ): Promise<WriteResult> {
    const headers: Record<string, string> = {};
    if (cond.ifMatch !== undefined) headers["If-Match"] = cond.ifMatch === "*" ? this.wildcard : cond.ifMatch;
    if (cond.ifNoneMatch !== undefined) headers["If-None-Match"] = cond.ifNoneMatch === "*" ? this.wildcard : cond.ifNoneMatch;
    if (contentType) headers["Content-Type"] = contentType;
    const res = await this.send(method, url, headers, body);
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw await this.failure(method, url, res, text);
    return { etag: normalizeEtag(res.headers.get("etag")), created: res.status === 201 };
  }

  private async failure(method: string, url: string, res: Response, text: string): Promise<XcapClientError> {
    const condition = res.status === 409 ? parseXcapErrorBody(text) : undefined;
    const what = condition ? `${condition.name}${condition.phrase ? ` (${condition.phrase})` : ""}` : res.statusText;
    return new XcapClientError(res.status, `XCAP ${method} ${url} failed: ${res.status} ${what}`.trim(), {
      method,
      url,
      condition,
      body: text || undefined,
    });
  }

  /**
   * One request. With digest credentials, the last challenge is answered pre-emptively; a 401
   * (first contact, or a stale nonce) is answered once with the new challenge. A 401 to an
   * answer built from a fresh challenge means the credentials are wrong and is returned.
   */
  private async send(method: string, url: string, extra: Record<string, string>, body?: string): Promise<Response> {
    let answeredFreshChallenge = false;
    for (;;) {
      const headers: Record<string, string> = { "User-Agent": this.userAgent, ...extra };
      if (isDigest(this.auth)) {
        if (this.digest) {
          this.digest.nc += 1;
          headers["Authorization"] = buildDigestAuthorization({
            challenge: this.digest.challenge,
            credentials: this.auth,
            method,
            uri: requestTarget(url),
            nc: this.digest.nc,
          });
        }
      } else if (this.auth) {
        Object.assign(headers, await this.auth.headers({ method, url }));
      }
      let res: Response;
      try {
        res = await this.fetchFn(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs), redirect: "manual" });
      } catch (err) {
        throw new XcapClientError(0, `XCAP ${method} ${url}: ${err instanceof Error ? err.message : String(err)}`, { method, url });
      }
      if (res.status !== 401 || !isDigest(this.auth)) return res;
      const challenge = parseDigestChallenges(res.headers.get("www-authenticate")).find(isSupportedChallenge);
      if (!challenge || answeredFreshChallenge) {
        this.digest = undefined;
        return res;
      }
      await res.arrayBuffer().catch(() => undefined);
      this.digest = { challenge, nc: 0 };
      answeredFreshChallenge = true;
    }
  }
}

/** Request-target (path + query) exactly as fetch puts it on the request line; used as digest `uri`. */
function requestTarget(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}
