/**
 * A small but real XCAP server on node:http for client tests: HTTP digest (qop=auth, checked
 * against a stored HA1), strong ETags, If-Match / If-None-Match with 412, xcap-error 409 on
 * malformed bodies, and element node selectors of the form /a/b[@attr="v"]/c[2].
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createHash, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { childElements, parseXml, serializeXml, type XmlElement } from "../../../../lib/xml";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  status: number;
}

export interface TestXcapServerOptions {
  realm?: string;
  /** username → HA1; when empty, no authentication is required */
  users?: Record<string, string>;
  /** If-None-Match wildcard accepted only quoted, as Kamailio does */
  quotedWildcardOnly?: boolean;
}

interface StoredDoc {
  body: string;
  etag: string;
}

export class TestXcapServer {
  readonly server: Server;
  readonly requests: RecordedRequest[] = [];
  readonly docs = new Map<string, StoredDoc>();
  private readonly realm: string;
  private readonly users: Record<string, string>;
  private readonly nonces = new Map<string, Set<number>>(); // nonce → nonce counts used (replay check)
  private etagCounter = 0;
  private readonly quotedWildcardOnly: boolean;
  /** when set, GET responses are held until this many GETs are waiting (forces interleaving) */
  private getBarrier?: { count: number; waiting: Array<() => void> };
  baseUrl = "";

  constructor(opts: TestXcapServerOptions = {}) {
    this.realm = opts.realm ?? "example.test";
    this.users = opts.users ?? {};
    this.quotedWildcardOnly = opts.quotedWildcardOnly ?? false;
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        void this.handle(req, res, Buffer.concat(chunks).toString("utf8"));
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}/xcap-root`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Invalidate every nonce: the next request with an old one gets 401 stale=true. */
  expireNonces(): void {
    this.nonces.clear();
  }

  /** Hold GET responses until `count` GETs are pending, then release them together. */
  holdGetsUntil(count: number): void {
    this.getBarrier = { count, waiting: [] };
  }

  seed(path: string, body: string): string {
    const etag = `"e${++this.etagCounter}"`;
    this.docs.set(path, { body, etag });
    return etag;
  }

  private send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string> = {}, body = ""): void {
    this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, status });
    res.writeHead(status, { ...headers, "Content-Length": String(Buffer.byteLength(body)) });
    res.end(body);
  }

  private challenge(req: IncomingMessage, res: ServerResponse, stale = false): void {
    const nonce = randomBytes(12).toString("hex");
    this.nonces.set(nonce, new Set());
    this.send(req, res, 401, {
      "WWW-Authenticate": `Digest realm="${this.realm}", nonce="${nonce}", qop="auth", algorithm=MD5${stale ? ", stale=true" : ""}`,
    });
  }

  /** RFC 7616 verification; returns "ok", "stale" or "bad". */
  private verify(req: IncomingMessage): "ok" | "stale" | "bad" | "missing" {
    const h = req.headers.authorization;
    if (!h) return "missing";
    if (!h.startsWith("Digest ")) return "bad";
    const p: Record<string, string> = {};
    for (const m of h.slice(7).matchAll(/([a-z]+)=(?:"([^"]*)"|([^\s,]+))/gi)) p[m[1]!.toLowerCase()] = m[2] ?? m[3]!;
    const ha1 = this.users[p.username ?? ""];
    if (!ha1 || p.realm !== this.realm || p.uri !== req.url || p.qop !== "auth") return "bad";
    const seen = this.nonces.get(p.nonce ?? "");
    if (seen === undefined) return "stale";
    const nc = parseInt(p.nc ?? "0", 16);
    if (!(nc > 0) || seen.has(nc)) return "bad";
    const ha2 = md5(`${req.method}:${p.uri}`);
    const expected = md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`);
    if (expected !== p.response) return "bad";
    seen.add(nc);
    return "ok";
  }

  private async handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    if (Object.keys(this.users).length > 0) {
      const v = this.verify(req);
      if (v !== "ok") return this.challenge(req, res, v === "stale");
    }
    const rawUrl = req.url ?? "/";
    const sep = rawUrl.indexOf("/~~/");
    const docPath = decodeURIComponent(sep >= 0 ? rawUrl.slice(0, sep) : rawUrl).replace(/^\/xcap-root/, "");
    const selector = sep >= 0 ? decodeURIComponent(rawUrl.slice(sep + 3)) : undefined;

    if (req.method === "GET" && this.getBarrier) {
      const barrier = this.getBarrier;
      await new Promise<void>((resolve) => {
        barrier.waiting.push(resolve);
        if (barrier.waiting.length >= barrier.count) {
          this.getBarrier = undefined;
          for (const w of barrier.waiting) w();
        }
      });
    }
    const current = this.docs.get(docPath);

    // conditional request handling (RFC 9110 §13.2.2 order: If-Match, then If-None-Match)
    const ifMatch = req.headers["if-match"];
    const ifNoneMatch = req.headers["if-none-match"];
    if (ifMatch !== undefined) {
      const ok = ifMatch === "*" ? !!current : !!current && ifMatch.split(",").map((s) => s.trim()).includes(current.etag);
      if (!ok) return this.send(req, res, 412);
    }
    if (ifNoneMatch !== undefined) {
      const star = this.quotedWildcardOnly ? ifNoneMatch === '"*"' : ifNoneMatch === "*" || ifNoneMatch === '"*"';
      const matches = star ? !!current : !!current && ifNoneMatch.split(",").map((s) => s.trim()).includes(current.etag);
      if (matches) return this.send(req, res, req.method === "GET" ? 304 : 412);
    }

    if (selector === undefined) {
      if (req.method === "GET") {
        if (!current) return this.send(req, res, 404);
        return this.send(req, res, 200, { ETag: current.etag, "Content-Type": "application/xml" }, current.body);
      }
      if (req.method === "PUT") {
        try {
          parseXml(body);
        } catch {
          return this.xcapError(req, res, "<not-well-formed/>");
        }
        const etag = this.seed(docPath, body);
        return this.send(req, res, current ? 200 : 201, { ETag: etag });
      }
      if (req.method === "DELETE") {
        if (!current) return this.send(req, res, 404);
        this.docs.delete(docPath);
        return this.send(req, res, 200);
      }
      return this.send(req, res, 405);
    }

    // node selector
    if (!current) return this.send(req, res, 404);
    const dom = parseXml(current.body);
    const steps = selector.split("/").filter(Boolean);
    const found = selectElement(dom.documentElement, steps);
    if (req.method === "GET") {
      if (!found) return this.send(req, res, 404);
      return this.send(req, res, 200, { ETag: current.etag, "Content-Type": "application/xcap-el+xml" }, serializeXml(found));
    }
    if (req.method === "DELETE") {
      if (!found) return this.send(req, res, 404);
      found.parentNode!.removeChild(found);
      const etag = this.seed(docPath, serializeXml(dom));
      return this.send(req, res, 200, { ETag: etag });
    }
    if (req.method === "PUT") {
      let frag;
      try {
        frag = parseXml(`<w xmlns="${dom.documentElement.namespaceURI}">${body}</w>`).documentElement.firstChild;
      } catch {
        return this.xcapError(req, res, "<not-xml-frag/>");
      }
      const imported = dom.importNode(frag as never, true) as unknown as XmlElement;
      if (found) found.parentNode!.replaceChild(imported as never, found as never);
      else {
        const parent = selectElement(dom.documentElement, steps.slice(0, -1));
        if (!parent) return this.xcapError(req, res, "<no-parent/>");
        parent.appendChild(imported as never);
      }
      const etag = this.seed(docPath, serializeXml(dom));
      return this.send(req, res, found ? 200 : 201, { ETag: etag });
    }
    return this.send(req, res, 405);
  }

  private xcapError(req: IncomingMessage, res: ServerResponse, inner: string): void {
    this.send(
      req,
      res,
      409,
      { "Content-Type": "application/xcap-error+xml" },
      `<?xml version="1.0" encoding="UTF-8"?><xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error">${inner}</xcap-error>`,
    );
  }
}

const STEP_RE = /^([A-Za-z_][\w.-]*)(?:\[@([\w.-]+)=(?:"([^"]*)"|'([^']*)')\]|\[(\d+)\])?$/;

/** Resolve steps below the root element (first step names the root itself). */
function selectElement(root: XmlElement, steps: string[]): XmlElement | undefined {
  if (steps.length === 0) return undefined;
  const first = STEP_RE.exec(steps[0]!);
  if (!first || first[1] !== root.localName) return undefined;
  let cur: XmlElement = root;
  for (const step of steps.slice(1)) {
    const m = STEP_RE.exec(step);
    if (!m) return undefined;
    const [, name, attr, v1, v2, pos] = m;
    const candidates = childElements(cur).filter((e) => e.localName === name && e.namespaceURI === root.namespaceURI);
    let next: XmlElement | undefined;
    if (attr) next = candidates.find((e) => e.getAttribute(attr) === (v1 ?? v2));
    else if (pos) next = candidates[Number(pos) - 1];
    else next = candidates.length === 1 ? candidates[0] : undefined;
    if (!next) return undefined;
    cur = next;
  }
  return cur;
}
