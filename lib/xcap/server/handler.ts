/**
 * The framework-free XCAP server core (RFC 4825): one function from a request to a response,
 * over an XcapStore. The route handler authenticates (digest or portal session) and passes
 * `user`; a 401 from here means "challenge this request".
 */
import { createHash } from "node:crypto";
import {
  DEFAULT_MAX_XML_DEPTH,
  XMLNS_NAMESPACE,
  XmlParseError,
  decodeUtf8,
  parseXml,
  parseXmlTree,
  type XmlDocument,
  type XmlDocumentView,
  type XmlElement,
} from "../../xml";
import { canonicalAor } from "../../sip/aor";
import { XcapConflict, XcapError } from "../errors";
import {
  checkSelectorBindings,
  decodeAttValue,
  formatSteps,
  inScopeNamespaces,
  nameMatches,
  resolveAttributeNs,
  selectElement,
  type NodeSelectorStep,
  type SelectorNamespaces,
} from "../node-selector";
import { escapeAttValue, serializeFaithful } from "../serialize";
import { buildXcapUri, parseXcapUri, type XcapDocumentKey, type XcapUri } from "../uri";
import type { ApplicationContext, ApplicationUsage, ValidatedDocument } from "./application-usage";
import { DEFAULT_APPLICATIONS } from "./applications";
import { serviceUriConflict } from "./applications/rls-services";
import type { StoredXcapDocument, XcapStore } from "./store";
import { XcapDocumentCache, type XcapDocumentCacheOptions } from "./document-cache";
import { CONTENT_TYPES } from "../../presence/namespaces";

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_MAX_DOCUMENTS_PER_USER = 100;
export const DEFAULT_MAX_BYTES_PER_USER = 10 * 1024 * 1024;

export interface XcapRequest {
  method: string;
  /** Path after the XCAP root, e.g. `resource-lists/users/sip:alice@example.test/index`. */
  path: string;
  /** Raw query component (with or without the leading "?"). */
  query?: string;
  /** Request headers, lower-case names. */
  headers: Record<string, string | undefined>;
  body: Uint8Array;
  /** The authenticated user, or null when the request carried no valid credentials. */
  user: { aor: string } | null;
  /** Absolute URI of the XCAP root, e.g. `https://example.test/xcap-root`. */
  rootUri: string;
}

export interface XcapResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

export type XcapChangeAction = "create" | "replace" | "delete";

export interface XcapChangeEvent {
  /** Canonical XUI of the tree's owner (`sip:alice@example.test`); null for the global tree. */
  user: string | null;
  auid: string;
  /** Document path, e.g. `index`. */
  document: string;
  /** The document's new ETag (unquoted); null when the document was deleted. */
  etag: string | null;
  /** The ETag before the write (unquoted); null when the document was created. */
  previousEtag: string | null;
  /** Whole-document action: a node PUT/DELETE replaces the document. */
  action: XcapChangeAction;
  /** The node selector the write addressed, if any. */
  nodeSelector: string | null;
}

export interface XcapServerOptions {
  /** Application usages (default: all of Herald's). */
  applications?: readonly ApplicationUsage[];
  /** Maximum request body size; larger bodies get 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Maximum size of a stored document after a node PUT. Default: maxBodyBytes. */
  maxDocumentBytes?: number;
  /**
   * Deepest element nesting a written document may have (root = 1). Deeper bodies are refused
   * with 409 not-well-formed (not-xml-frag for an element PUT) before any DOM is built. Default 100.
   */
  maxDepth?: number;
  /**
   * Documents one user's tree may hold: a PUT creating one more is refused with 409
   * constraint-failure and nothing changes. Default 100.
   */
  maxDocumentsPerUser?: number;
  /**
   * Total size (UTF-8 bytes) of one user's documents: a write that grows past it is refused with
   * 413 and nothing changes (writes that shrink a document always pass). Default 10 MiB.
   * Enforced exactly within one process; writers in several processes may pass it by one write each.
   */
  maxBytesPerUser?: number;
  /**
   * Whether `uri` names something outside the XCAP documents that `user` (canonical XUI) may not
   * claim as an rls-services service URI — an account, alias or virtual presentity of a served
   * domain, or a URI derived from another user's. Such a write is refused with 409
   * uniqueness-failure (RFC 4826 §4.4.7). Default: nothing is taken.
   */
  isUriTaken?: (uri: string, user: string) => Promise<boolean>;
  /** Fired after every successful write (awaited before the response is returned). */
  onChange?: (event: XcapChangeEvent) => void | Promise<void>;
  /**
   * Receives errors thrown by onChange: the write has been stored, so they never change the
   * response. Default: rethrown from a microtask (surfaces as an uncaught error, never silent).
   */
  onHookError?: (error: unknown, event: XcapChangeEvent) => void;
  /** Compare-and-set attempts before giving up with 503. Default 8. */
  maxWriteAttempts?: number;
  /**
   * Parsed-DOM cache for node-selector GETs and node writes (see document-cache.ts). Default: one
   * cache per store with default bounds, shared by every server on that store. `false` parses the
   * stored text on every request; an instance or options give a cache of its own.
   */
  documentCache?: XcapDocumentCache | XcapDocumentCacheOptions | false;
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array();
const STORED_DOC_LIMIT = 64 * 1024 * 1024;

function respond(status: number, headers: Record<string, string> = {}, body: string | Uint8Array = EMPTY): XcapResponse {
  return { status, headers, body: typeof body === "string" ? encoder.encode(body) : body };
}

function errorResponse(err: XcapError): XcapResponse {
  if (err instanceof XcapConflict) {
    return respond(409, { "content-type": CONTENT_TYPES.xcapError }, err.toXml());
  }
  return respond(err.status, { ...err.headers, "content-type": "text/plain; charset=utf-8" }, `${err.message}\n`);
}

/** Strong ETag (RFC 7232) from the document text: SHA-256, base64url, 128 bits. */
export function etagOf(content: string): string {
  // synchronous: inside a document's write queue a hop to the crypto thread pool costs more than the hash
  return createHash("sha256").update(content, "utf8").digest().subarray(0, 16).toString("base64url");
}

/** Strong ETag (RFC 7232) from the document text: SHA-256, base64url, 128 bits. */
export async function computeEtag(content: string): Promise<string> {
  return etagOf(content);
}

function quoteEtag(etag: string): string {
  return `"${etag}"`;
}

interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** Parse an If-Match / If-None-Match value: "*" or a list of entity tags. */
function parseEtagList(value: string): "*" | EntityTag[] {
  const v = value.trim();
  if (v === "*") return "*";
  const out: EntityTag[] = [];
  const re = /\s*(W\/)?(?:"([^"]*)"|([^,\s]+))\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < v.length && (m = re.exec(v))) {
    out.push({ weak: !!m[1], opaque: m[2] ?? m[3] ?? "" });
    if (m[0] === "") break;
  }
  return out;
}

type Precondition = null | 304 | 412;

/** RFC 7232 §3.1/§3.2 with one ETag per document (RFC 4825 §7.11); `*` tests the target's existence. */
function evaluatePreconditions(
  headers: Record<string, string | undefined>,
  method: string,
  etag: string | null,
  targetExists: boolean,
): Precondition {
  const ifMatch = headers["if-match"];
  if (ifMatch !== undefined) {
    const list = parseEtagList(ifMatch);
    const ok = list === "*" ? targetExists : etag !== null && list.some((t) => !t.weak && t.opaque === etag);
    if (!ok) return 412;
  }
  const ifNoneMatch = headers["if-none-match"];
  if (ifNoneMatch !== undefined) {
    const list = parseEtagList(ifNoneMatch);
    const matches = list === "*" ? targetExists : etag !== null && list.some((t) => t.opaque === etag);
    if (matches) return method === "GET" || method === "HEAD" ? 304 : 412;
  }
  return null;
}

function mediaType(headers: Record<string, string | undefined>): { type: string; charset?: string } {
  const raw = headers["content-type"] ?? "";
  const [type, ...params] = raw.split(";");
  let charset: string | undefined;
  for (const p of params) {
    const m = /^\s*charset\s*=\s*"?([^";\s]+)"?\s*$/i.exec(p);
    if (m) charset = m[1]!.toLowerCase();
  }
  return { type: (type ?? "").trim().toLowerCase(), ...(charset ? { charset } : {}) };
}

function requireMediaType(headers: Record<string, string | undefined>, expected: string): void {
  const mt = mediaType(headers);
  if (mt.type !== expected) throw new XcapError(415, `Content-Type must be ${expected}`);
  if (mt.charset && mt.charset !== "utf-8" && mt.charset !== "utf8") throw new XcapError(415, "charset must be UTF-8");
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Decode a body as strict UTF-8 (RFC 4825 §8.2.1: not-utf-8). */
function bodyText(body: Uint8Array): string {
  try {
    return stripBom(decodeUtf8(body));
  } catch {
    throw new XcapConflict("not-utf-8", "the body is not valid UTF-8");
  }
}

/**
 * Parse a whole-document body, for validation only (a read-only tree: nothing edits or serializes
 * it); every failure is 409 not-well-formed (DOCTYPE included: entities are never processed).
 */
function parseDocumentBody(text: string, maxBytes: number, maxDepth: number): XmlDocumentView {
  try {
    return parseXmlTree(text, { maxBytes, maxDepth });
  } catch (err) {
    if (err instanceof XmlParseError) {
      if (err.code === "too-large") throw new XcapError(413, err.message);
      if (err.code === "doctype") throw new XcapConflict("not-well-formed", "DOCTYPE and entity declarations are not allowed");
      throw new XcapConflict("not-well-formed", err.message);
    }
    throw err;
  }
}

/** A stored document was checked when it was written: its depth is not checked again. */
function parseStored(content: string): XmlDocument {
  return parseXml(content, { maxBytes: STORED_DOC_LIMIT, maxDepth: Infinity });
}

const WRAPPER = "xcap-fragment-wrapper";

/**
 * Parse an element PUT body (RFC 4825 §7.4: exactly one element). Prefixes in scope at the
 * insertion point may be used by the fragment, as they will be once it is in the document.
 */
function parseElementFragment(text: string, scope: Map<string, string>, maxBytes: number, maxDepth: number): XmlElement {
  const body = text.replace(/^\s*<\?xml\s[^?]*\?>/, "");
  let decls = "";
  for (const [prefix, uri] of scope) {
    decls += prefix === "" ? ` xmlns="${escapeAttValue(uri)}"` : ` xmlns:${prefix}="${escapeAttValue(uri)}"`;
  }
  let doc: XmlDocument;
  try {
    doc = parseXml(`<${WRAPPER}${decls}>${body}</${WRAPPER}>`, { maxBytes: maxBytes + decls.length + 64, maxDepth: maxDepth + 1 });
  } catch (err) {
    if (err instanceof XmlParseError) {
      if (err.code === "too-large") throw new XcapError(413, err.message);
      if (err.code === "too-deep") throw new XcapConflict("not-xml-frag", `the element nests too deeply: ${Math.max(0, maxDepth)} levels fit below its parent`);
      throw new XcapConflict("not-xml-frag", err.code === "doctype" ? "DOCTYPE and entity declarations are not allowed" : err.message);
    }
    throw err;
  }
  const wrapper = doc.documentElement as XmlElement;
  let element: XmlElement | undefined;
  for (let c = wrapper.firstChild; c; c = c.nextSibling) {
    if (c.nodeType === 1) {
      if (element) throw new XcapConflict("not-xml-frag", "the body must contain exactly one element");
      element = c as XmlElement;
    } else if (c.nodeType === 3) {
      if ((c as Text).data.trim() !== "") throw new XcapConflict("not-xml-frag", "text outside the element");
    } else if (c.nodeType !== 8) {
      throw new XcapConflict("not-xml-frag", "the body must contain exactly one element");
    }
  }
  if (!element) throw new XcapConflict("not-xml-frag", "the body must contain exactly one element");
  return element;
}

interface Resolved {
  uri: XcapUri;
  key: XcapDocumentKey;
  app: ApplicationUsage;
  ns: SelectorNamespaces;
  ctx: ApplicationContext;
  /** null: no caching (disabled, or a generated document) */
  cache: XcapDocumentCache | null;
  /** The write's place in its document's queue (writes only). */
  turn?: WriteTurn;
}

const sharedCaches = new WeakMap<XcapStore, XcapDocumentCache>();
const ownCaches = new WeakMap<XcapDocumentCacheOptions, XcapDocumentCache>();

function documentCache(store: XcapStore, options: XcapServerOptions): XcapDocumentCache | null {
  const o = options.documentCache;
  if (o === false) return null;
  if (o instanceof XcapDocumentCache) return o;
  if (o) {
    let c = ownCaches.get(o);
    if (!c) ownCaches.set(o, (c = new XcapDocumentCache(o)));
    return c;
  }
  let c = sharedCaches.get(store);
  if (!c) sharedCaches.set(store, (c = new XcapDocumentCache()));
  return c;
}

/** The tree of the stored document: shared from the cache (never to be modified), or parsed. */
function readTree(r: Resolved, stored: StoredXcapDocument): XmlDocument {
  return r.cache ? r.cache.get(r.key, stored, parseStored) : parseStored(stored.content);
}

/**
 * The tree of the stored document for a writer: from the cache if it is there (call `own` before
 * the first modification: it leaves the cache then), else a fresh parse.
 */
function writableTree(r: Resolved, stored: StoredXcapDocument): { doc: XmlDocument; own(): void } {
  const cached = r.cache?.lookup(r.key, stored);
  if (!cached) return { doc: parseStored(stored.content), own: () => undefined };
  return { doc: cached, own: () => r.cache!.delete(r.key, cached) };
}

class RetryWrite extends Error {}

/**
 * Run a write against `cur`. When `cur` came from a cache another process's write may have
 * outdated, a failure that depends on the stored state (a precondition, a missing document or
 * element, a conflict) is not answered yet: the write is tried again on a fresh read.
 */
async function settle(cur: StoredXcapDocument | null, write: () => Promise<XcapResponse>): Promise<XcapResponse> {
  if (!cur?.cached) return write();
  let res: XcapResponse;
  try {
    res = await write();
  } catch (err) {
    if (err instanceof XcapError) throw new RetryWrite();
    throw err;
  }
  if (res.status >= 300) throw new RetryWrite();
  return res;
}

export interface XcapServer {
  handle(req: XcapRequest): Promise<XcapResponse>;
}

/** Handle one XCAP request against `store`. */
export async function handleXcapRequest(req: XcapRequest, store: XcapStore, options: XcapServerOptions = {}): Promise<XcapResponse> {
  try {
    return await handle(req, store, options);
  } catch (err) {
    if (err instanceof XcapError) return errorResponse(err);
    throw err;
  }
}

/** Bind a store and options once (what the route handler keeps). */
export function createXcapServer(store: XcapStore, options: XcapServerOptions = {}): XcapServer {
  return { handle: (req) => handleXcapRequest(req, store, options) };
}

async function handle(req: XcapRequest, store: XcapStore, options: XcapServerOptions): Promise<XcapResponse> {
  const applications = options.applications ?? DEFAULT_APPLICATIONS;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const method = req.method.toUpperCase();
  const headers = req.headers;

  const uri = parseXcapUri(req.path, req.query ?? "");
  const app = applications.find((a) => a.auid === uri.auid);
  if (!app || !app.scopes.includes(uri.scope)) throw new XcapError(404, "no such application usage or tree");
  const key: XcapDocumentKey = { auid: uri.auid, scope: uri.scope, xui: uri.xui, docPath: uri.docPath };
  const ns: SelectorNamespaces = { bindings: uri.namespaces, defaultNamespace: app.defaultNamespace };
  if (uri.nodeSelector) checkSelectorBindings(uri.nodeSelector, ns);

  // Authorization: a user reads and writes only their own tree; the global tree is read-only.
  const reading = method === "GET" || method === "HEAD";
  const publicRead = reading && app.publicRead === true && uri.scope === "users";
  if (!req.user && !publicRead) throw new XcapError(401, "authentication required");
  if (uri.scope === "users" && !publicRead && canonicalAor(req.user!.aor) !== uri.xui) {
    throw new XcapError(403, "a user may only access their own documents");
  }

  const readOnly = uri.scope === "global" || !!app.generate || uri.nodeSelector?.terminal?.kind === "namespace";
  const allow = readOnly ? "GET, HEAD" : "GET, PUT, DELETE, HEAD";
  if (!["GET", "HEAD", "PUT", "DELETE"].includes(method) || (readOnly && !reading)) {
    throw new XcapError(405, `method ${method} not allowed here`, { allow });
  }
  if (req.body.byteLength > maxBody) throw new XcapError(413, `body larger than ${maxBody} bytes`);

  const cache = app.generate ? null : documentCache(store, options);
  const isUriTaken = options.isUriTaken && key.xui ? (u: string, user?: string) => options.isUriTaken!(u, user ?? key.xui!) : undefined;
  const r: Resolved = { uri, key, app, ns, ctx: { key, store, rootUri: req.rootUri, applications, ...(isUriTaken ? { isUriTaken } : {}) }, cache };
  if (reading) return get(r, method, headers);
  // A whole-document body is parsed and validated before the document's write queue: nothing in it
  // depends on the stored version, so the next body is checked while a write waits on the
  // database. (Bad content is 409 whatever the preconditions say: RFC 9110 §13.2.1.)
  const whole = method === "PUT" && !uri.nodeSelector ? await checkDocumentBody(r, req, options, maxBody) : null;
  const attempts = options.maxWriteAttempts ?? 8;
  return serializedWrite(store, key, async (turn) => {
    r.turn = turn;
    for (let i = 0; i < attempts; i++) {
      try {
        let cur: StoredXcapDocument | null;
        if (i === 0 && turn.previous) {
          // the version the previous writer is storing: a failure against it is tried again once
          // that writer is done (it is marked as a cached read)
          cur = { ...turn.previous.doc, cached: true };
        } else {
          if (turn.previous) await turn.previous.done;
          // the first attempt may read from the store's cache; every retry reads what is stored
          cur = await store.get(key, i > 0 ? { fresh: true } : undefined);
        }
        return await settle(cur, () => (whole ? putDocument(r, req, options, whole, cur) : method === "PUT" ? put(r, req, options, maxBody, cur) : del(r, req, options, cur)));
      } catch (err) {
        if (!(err instanceof RetryWrite)) throw err;
      }
    }
    throw new XcapError(503, "document is being modified concurrently, retry", { "retry-after": "1" });
  });
}

/** What a writer whose write is ordered in the store (XcapStore.orderedPut) hands the next one. */
interface Handover {
  /** The version being stored. */
  doc: StoredXcapDocument;
  /** Settles when that writer has answered, whatever the outcome. */
  done: Promise<void>;
}

interface WriteTurn {
  /** The previous writer's handover, when it handed over before it was done. */
  previous: Handover | null;
  /** Let the next writer start on `doc` (call once this write is ordered in the store). */
  handOver(doc: StoredXcapDocument): void;
}

/**
 * Writes to one document from this process run one after another. Without this, concurrent element
 * PUTs to one document (ten browser tabs, a benchmark) all read the same version, all but one lose
 * the compare-and-set, and after maxWriteAttempts rounds they fail with 503. The CAS loop stays for
 * writers in other processes sharing the store.
 *
 * A writer whose compare-and-set the store has ordered (PostgreSQL's pipelined connection) hands
 * over at once: the next writer starts on the version being written, and its own compare-and-set
 * follows on the wire instead of waiting for the previous answer. If that version is not stored
 * after all, the next compare-and-set fails too and is retried after the previous writer is done.
 */
const writeQueues = new WeakMap<XcapStore, Map<string, Promise<Handover | null>>>();
function serializedWrite<T>(store: XcapStore, key: XcapDocumentKey, fn: (turn: WriteTurn) => Promise<T>): Promise<T> {
  let queues = writeQueues.get(store);
  if (!queues) writeQueues.set(store, (queues = new Map()));
  const id = JSON.stringify([key.auid, key.scope, key.xui, key.docPath]);
  const before = queues.get(id) ?? Promise.resolve(null);
  let start!: (h: Handover | null) => void;
  const next = new Promise<Handover | null>((resolve) => (start = resolve));
  queues.set(id, next);
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const run = before.then((previous) => fn({ previous, handOver: (doc) => start({ doc, done }) }));
  void run
    .then(
      () => undefined,
      () => undefined,
    )
    .then(() => {
      finished();
      // no handover (or one already made): the next writer reads the store
      start(null);
      if (queues.get(id) === next) queues.delete(id);
    });
  return run;
}

async function load(r: Resolved): Promise<StoredXcapDocument | null> {
  if (r.app.generate) {
    const content = await r.app.generate(r.ctx);
    return content === null ? null : { content, etag: etagOf(content) };
  }
  return r.ctx.store.get(r.key);
}

function documentUri(r: Resolved, steps?: readonly NodeSelectorStep[]): string {
  return buildXcapUri(r.ctx.rootUri, r.key, steps && steps.length > 0 ? formatSteps(steps) : undefined);
}

/** The selected element, or a reason it is not selected. */
function findElement(doc: XmlDocument, r: Resolved) {
  return selectElement(doc, r.uri.nodeSelector!.steps, r.ns);
}

function findAttribute(el: XmlElement, r: Resolved): Attr | null {
  const t = r.uri.nodeSelector!.terminal;
  if (t?.kind !== "attribute") return null;
  const ans = resolveAttributeNs(t.name, r.ns);
  if (ans === null) {
    for (let i = 0; i < el.attributes.length; i++) {
      const a = el.attributes[i]!;
      if (!a.namespaceURI && !a.name.includes(":") && a.name === t.name.local) return a;
    }
    return null;
  }
  return el.getAttributeNodeNS(ans, t.name.local);
}

function namespaceBody(el: XmlElement): string {
  let decls = "";
  for (const [prefix, uri] of inScopeNamespaces(el)) {
    decls += prefix === "" ? ` xmlns="${escapeAttValue(uri)}"` : ` xmlns:${prefix}="${escapeAttValue(uri)}"`;
  }
  return `<${el.tagName}${decls}/>`;
}

async function get(r: Resolved, method: string, headers: Record<string, string | undefined>): Promise<XcapResponse> {
  const stored = await load(r);
  if (!stored) throw new XcapError(404, "no such document");
  let body: string;
  let type: string;
  if (!r.uri.nodeSelector) {
    body = stored.content;
    type = r.app.mimeType;
  } else {
    const doc = readTree(r, stored);
    const sel = findElement(doc, r);
    if (sel.kind !== "found") throw new XcapError(404, "the node selector selects no single element");
    const terminal = r.uri.nodeSelector.terminal;
    if (!terminal) {
      body = serializeFaithful(sel.element);
      type = CONTENT_TYPES.xcapElement;
    } else if (terminal.kind === "attribute") {
      const attr = findAttribute(sel.element, r);
      if (!attr) throw new XcapError(404, "no such attribute");
      body = escapeAttValue(attr.value);
      type = CONTENT_TYPES.xcapAttribute;
    } else {
      body = namespaceBody(sel.element);
      type = CONTENT_TYPES.xcapNamespaces;
    }
  }
  const etag = quoteEtag(stored.etag);
  const pre = evaluatePreconditions(headers, method, stored.etag, true);
  if (pre === 304) return respond(304, { etag });
  if (pre === 412) return respond(412, { etag });
  const bytes = encoder.encode(body);
  return respond(200, { "content-type": type, etag }, method === "HEAD" ? EMPTY : bytes);
}

function checkDocumentSize(text: string, maxDocumentBytes: number): void {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit: encode only when it might be too large
  if (text.length * 3 > maxDocumentBytes && encoder.encode(text).byteLength > maxDocumentBytes) {
    throw new XcapConflict("constraint-failure", `the document would exceed ${maxDocumentBytes} bytes`);
  }
}

/** Reparse the modified document (round-trip check), then run the §8.2.5 idempotency check. */
function reparseModified(text: string, maxDocumentBytes: number): XmlDocument {
  checkDocumentSize(text, maxDocumentBytes);
  try {
    return parseXml(text, { maxBytes: maxDocumentBytes, maxDepth: Infinity });
  } catch (err) {
    if (err instanceof XmlParseError) throw new XcapConflict("cannot-insert", `the result is not well-formed: ${err.message}`);
    throw err;
  }
}

/** Insert `el` as a new child of `parent` per RFC 4825 §7.4 / §8.2.3. */
function insertElement(parent: XmlElement | XmlDocument, el: XmlElement, step: NodeSelectorStep, r: Resolved): void {
  if (parent.nodeType === 9) {
    // a document has exactly one root element: it would have been selected
    throw new XcapConflict("cannot-insert", "the document already has a root element");
  }
  let after: Node | null = null;
  if (step.position !== undefined) {
    const siblings = nameMatches(parent, step, r.ns);
    if (step.position > siblings.length + 1) {
      throw new XcapConflict("cannot-insert", `cannot insert as number ${step.position} of ${siblings.length} siblings`);
    }
    // becomes the n-th matching sibling
    if (step.position <= siblings.length) {
      parent.insertBefore(el, siblings[step.position - 1]!);
      return;
    }
    after = siblings.length > 0 ? siblings[siblings.length - 1]! : null;
  } else {
    // §7.4, §8.2.3: without a position the new element follows the last sibling of its own name
    const ns = el.namespaceURI ?? "";
    for (let c = parent.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 1 && (c as XmlElement).localName === el.localName && ((c as XmlElement).namespaceURI ?? "") === ns) after = c;
    }
  }
  if (after === null) {
    // no such sibling: appended after the last element child (trailing whitespace stays last)
    for (let c = parent.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) after = c;
    if (after === null) {
      parent.insertBefore(el, parent.firstChild);
      return;
    }
  }
  parent.insertBefore(el, after.nextSibling);
}

/** A new document text, parsed and validated (ready to store). */
interface CheckedDocument {
  content: string;
  /** Its xmldom tree, when the request built one (element and attribute PUTs, DELETEs). */
  tree: XmlDocument | null;
  validated: ValidatedDocument;
}

async function validate(r: Resolved, doc: XmlDocumentView, tree: XmlDocument | null, content: string): Promise<CheckedDocument> {
  return { content, tree, validated: (await r.app.validate?.(doc, r.ctx)) ?? {} };
}

/** The body of a whole-document PUT (§8.2.1), checked against the application usage. */
async function checkDocumentBody(r: Resolved, req: XcapRequest, options: XcapServerOptions, maxBody: number): Promise<CheckedDocument> {
  requireMediaType(req.headers, r.app.mimeType);
  const text = bodyText(req.body);
  return validate(r, parseDocumentBody(text, maxBody, options.maxDepth ?? DEFAULT_MAX_XML_DEPTH), null, text);
}

async function putDocument(r: Resolved, req: XcapRequest, options: XcapServerOptions, checked: CheckedDocument, cur: StoredXcapDocument | null): Promise<XcapResponse> {
  const pre = evaluatePreconditions(req.headers, "PUT", cur?.etag ?? null, cur !== null);
  if (pre) return respond(412, cur ? { etag: quoteEtag(cur.etag) } : {});
  const etag = await commitWrite(r, options, checked, cur, cur === null ? "create" : "replace");
  return respond(cur === null ? 201 : 200, { etag: quoteEtag(etag) });
}

/** Element and attribute PUTs (§8.2.3, §8.2.4). */
async function put(
  r: Resolved,
  req: XcapRequest,
  options: XcapServerOptions,
  maxBody: number,
  cur: StoredXcapDocument | null,
): Promise<XcapResponse> {
  const sel = r.uri.nodeSelector!;
  const terminal = sel.terminal;
  requireMediaType(req.headers, terminal ? CONTENT_TYPES.xcapAttribute : CONTENT_TYPES.xcapElement);
  const text = bodyText(req.body);
  const maxDoc = options.maxDocumentBytes ?? maxBody;

  let newDoc: XmlDocument;
  let content: string;
  let created: boolean;

  // §8.2.1: the parent of the new node (the document) does not exist
  if (!cur) throw new XcapConflict("no-parent", "the document does not exist");
  const tree = writableTree(r, cur);
  const doc = tree.doc;
  const found = findElement(doc, r);
  if (!terminal) {
    // element PUT (§8.2.3)
    if (found.kind === "ambiguous") throw new XcapConflict("cannot-insert", "the node selector selects more than one element");
    const pre = evaluatePreconditions(req.headers, "PUT", cur.etag, found.kind === "found");
    if (pre) return respond(412, { etag: quoteEtag(cur.etag) });
    const steps = sel.steps;
    let parent: XmlElement | XmlDocument;
    if (found.kind === "found") {
      parent = (found.element.parentNode as XmlElement | XmlDocument) ?? doc;
    } else {
      const parentSteps = steps.slice(0, -1);
      if (parentSteps.length === 0) parent = doc;
      else {
        const p = selectElement(doc, parentSteps, r.ns);
        if (p.kind !== "found") {
          throw new XcapConflict("no-parent", "the parent element does not exist", {
            ancestor: documentUri(r, parentSteps.slice(0, p.matched)),
          });
        }
        parent = p.element;
      }
    }
    const scope = parent.nodeType === 1 ? inScopeNamespaces(parent as XmlElement) : new Map<string, string>();
    // the new element's subtree may use the levels below its parent
    let parentDepth = 0;
    for (let n: Node | null = parent; n && n.nodeType === 1; n = n.parentNode) parentDepth++;
    const fragment = parseElementFragment(text, scope, maxBody, (options.maxDepth ?? DEFAULT_MAX_XML_DEPTH) - parentDepth);
    tree.own();
    const el = doc.importNode(fragment, true) as XmlElement;
    if (found.kind === "found") parent.replaceChild(el, found.element);
    else insertElement(parent, el, steps[steps.length - 1]!, r);
    created = found.kind !== "found";
    content = serializeFaithful(doc);
    checkDocumentSize(content, maxDoc);
    // No reparse of `content`: the fragment was parsed with exactly the namespace bindings in
    // scope at its new place, so the modified tree is what parsing `content` would give (the
    // element-for-element replacement or insertion merges no text nodes), and the §8.2.5
    // check can run on it. (Attribute PUTs and DELETEs still reparse.)
    newDoc = doc;
    // §8.2.5: selecting with the same URI must give back what was put
    const again = selectElement(doc, steps, r.ns);
    if (again.kind !== "found" || again.element !== el) {
      throw new XcapConflict("cannot-insert", "the element would not be selected by the request URI");
    }
  } else if (terminal.kind === "attribute") {
    // attribute PUT (§8.2.4)
    if (found.kind !== "found") {
      const steps = sel.steps;
      throw new XcapConflict("no-parent", "the element does not exist", {
        ancestor: documentUri(r, steps.slice(0, found.kind === "none" ? found.matched : found.matched)),
      });
    }
    const existing = findAttribute(found.element, r);
    const pre = evaluatePreconditions(req.headers, "PUT", cur.etag, existing !== null);
    if (pre) return respond(412, { etag: quoteEtag(cur.etag) });
    const value = decodeAttValue(text);
    if (value === undefined) throw new XcapConflict("not-xml-att-value", "the body is not a valid attribute value");
    tree.own();
    const el = found.element;
    const attNs = resolveAttributeNs(terminal.name, r.ns);
    if (existing) existing.value = value;
    else if (attNs === null) el.setAttribute(terminal.name.local, value);
    else {
      const scope = inScopeNamespaces(el);
      let prefix = [...scope].find(([p, u]) => p !== "" && u === attNs)?.[0];
      if (!prefix) {
        prefix = terminal.name.prefix ?? "ns";
        for (let n = 1; scope.has(prefix) && scope.get(prefix) !== attNs; n++) prefix = `${terminal.name.prefix ?? "ns"}${n}`;
        el.setAttributeNS(XMLNS_NAMESPACE, `xmlns:${prefix}`, attNs);
      }
      el.setAttributeNS(attNs, `${prefix}:${terminal.name.local}`, value);
    }
    created = existing === null;
    content = serializeFaithful(doc);
    newDoc = reparseModified(content, maxDoc);
    const again = selectElement(newDoc, sel.steps, r.ns);
    const attAgain = again.kind === "found" ? findAttribute(again.element, r) : null;
    if (!attAgain || attAgain.value !== value) {
      throw new XcapConflict("cannot-insert", "the attribute would not be selected by the request URI");
    }
  } else {
    throw new XcapError(405, "namespace bindings are read-only", { allow: "GET, HEAD" });
  }

  const etag = await commitWrite(r, options, await validate(r, newDoc, newDoc, content), cur, "replace");
  return respond(created ? 201 : 200, { etag: quoteEtag(etag) });
}

/**
 * Store a checked document (compare-and-set on the ETag of `previous`, the stored version it was
 * derived from), keep its tree in the cache and announce the change. Returns the new ETag.
 */
async function commitWrite(
  r: Resolved,
  options: XcapServerOptions,
  { content, tree, validated }: CheckedDocument,
  previous: StoredXcapDocument | null,
  action: "create" | "replace",
): Promise<string> {
  const previousEtag = previous?.etag ?? null;
  const etag = etagOf(content);
  const input = { content, etag, ...validated };
  const store = () => {
    const ordered = previousEtag !== null && r.turn ? r.ctx.store.orderedPut?.(r.key, input, previousEtag) : null;
    if (!ordered) return r.ctx.store.put(r.key, input, previousEtag);
    r.turn!.handOver({ content, etag });
    return ordered;
  };
  const bytes = Buffer.byteLength(content);
  const previousBytes = previous ? Buffer.byteLength(previous.content) : 0;
  // quotas only for what can grow a user's tree: a new document, or a larger one
  const quota = r.key.xui !== null && (previous === null || bytes > previousBytes);
  const result = quota ? await withinQuota(r, options, r.key.xui!, previous === null, bytes - previousBytes, store) : await store();
  if (!result.ok) {
    if (result.reason === "etag-mismatch") throw new RetryWrite();
    throw await serviceUriConflict(result.uris, r.ctx, new Set(validated.serviceUris ?? []));
  }
  // the previous writer's tree and change event first
  if (r.turn?.previous) await r.turn.previous.done;
  // without a tree, the next node-selector request parses the new text (a cached tree of the old
  // one would not be served: the cache compares texts, but it would take room)
  if (tree) r.cache?.set(r.key, { content, etag }, tree);
  else r.cache?.delete(r.key);
  await notify(options, {
    user: r.key.xui,
    auid: r.key.auid,
    document: r.key.docPath,
    etag,
    previousEtag,
    action,
    nodeSelector: r.uri.nodeSelectorText,
  });
  return etag;
}

/**
 * Run `write` if the user's tree stays within its quotas. The check and the write run one at a
 * time per user in this process, so that concurrent creations cannot all pass the same count.
 */
function withinQuota<T>(r: Resolved, options: XcapServerOptions, xui: string, creating: boolean, growth: number, write: () => Promise<T>): Promise<T> {
  const maxDocuments = options.maxDocumentsPerUser ?? DEFAULT_MAX_DOCUMENTS_PER_USER;
  const maxBytes = options.maxBytesPerUser ?? DEFAULT_MAX_BYTES_PER_USER;
  return serializedWrite(r.ctx.store, { auid: "", scope: "users", xui, docPath: "" }, async () => {
    const usage = await r.ctx.store.usage(xui);
    if (creating && usage.documents >= maxDocuments) {
      throw new XcapConflict("constraint-failure", `document quota reached: a user may keep at most ${maxDocuments} documents`);
    }
    if (usage.bytes + growth > maxBytes) {
      throw new XcapError(413, `storage quota exceeded: a user's documents may total at most ${maxBytes} bytes (${usage.bytes} in use)`);
    }
    return write();
  });
}

function removeWithIndent(el: Node): void {
  const prev = el.previousSibling;
  if (prev && prev.nodeType === 3 && (prev as Text).data.trim() === "") prev.parentNode!.removeChild(prev);
  el.parentNode!.removeChild(el);
}

async function del(r: Resolved, req: XcapRequest, options: XcapServerOptions, cur: StoredXcapDocument | null): Promise<XcapResponse> {
  if (!cur) throw new XcapError(404, "no such document");
  const sel = r.uri.nodeSelector;
  if (!sel) {
    const pre = evaluatePreconditions(req.headers, "DELETE", cur.etag, true);
    if (pre) return respond(412, { etag: quoteEtag(cur.etag) });
    if (!(await r.ctx.store.delete(r.key, cur.etag))) throw new RetryWrite();
    r.cache?.delete(r.key);
    await notify(options, {
      user: r.key.xui,
      auid: r.key.auid,
      document: r.key.docPath,
      etag: null,
      previousEtag: cur.etag,
      action: "delete",
      nodeSelector: null,
    });
    return respond(200);
  }
  const tree = writableTree(r, cur);
  const doc = tree.doc;
  const found = findElement(doc, r);
  if (found.kind !== "found") throw new XcapError(404, "the node selector selects no single element");
  const terminal = sel.terminal;
  if (!terminal) {
    if (found.element === doc.documentElement) throw new XcapConflict("cannot-delete", "the root element cannot be deleted");
    const pre = evaluatePreconditions(req.headers, "DELETE", cur.etag, true);
    if (pre) return respond(412, { etag: quoteEtag(cur.etag) });
    tree.own();
    removeWithIndent(found.element);
  } else if (terminal.kind === "attribute") {
    const attr = findAttribute(found.element, r);
    if (!attr) throw new XcapError(404, "no such attribute");
    const pre = evaluatePreconditions(req.headers, "DELETE", cur.etag, true);
    if (pre) return respond(412, { etag: quoteEtag(cur.etag) });
    tree.own();
    found.element.removeAttributeNode(attr);
  } else {
    throw new XcapError(405, "namespace bindings are read-only", { allow: "GET, HEAD" });
  }
  const content = serializeFaithful(doc);
  const newDoc = parseStored(content);
  // §8.3.5: after a DELETE the request URI must select nothing
  const again = selectElement(newDoc, sel.steps, r.ns);
  const stillThere = again.kind === "ambiguous" || (again.kind === "found" && (!terminal || findAttribute(again.element, r) !== null));
  if (stillThere) throw new XcapConflict("cannot-delete", "the request URI would still select a node");
  const etag = await commitWrite(r, options, await validate(r, newDoc, newDoc, content), cur, "replace");
  return respond(200, { etag: quoteEtag(etag) });
}

async function notify(options: XcapServerOptions, event: XcapChangeEvent): Promise<void> {
  if (!options.onChange) return;
  try {
    await options.onChange(event);
  } catch (err) {
    if (options.onHookError) options.onHookError(err, event);
    else
      queueMicrotask(() => {
        throw err;
      });
  }
}

