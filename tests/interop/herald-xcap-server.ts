/**
 * Herald's XCAP server core (lib/xcap/server, MemoryXcapStore) behind a tiny node:http server with
 * HTTP digest (MD5, qop=auth) against stored HA1s — the same shape as the portal's route handler,
 * so interop tests and the XCAP benchmark can drive Herald and Kamailio with the same XcapClient.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { DigestAuthenticator } from "../../lib/sip/digest-server";
import { createXcapServer, MemoryXcapStore, type XcapServerOptions, type XcapStore } from "../../lib/xcap/server";
import { XcapClient, type XcapClientOptions } from "../../lib/xcap/client";
import { digestHa1 } from "../../lib/accounts/password";

export interface HeraldXcapHttpOptions {
  domain?: string;
  /** user → password (HA1 derived for realm = domain) */
  users?: Record<string, string>;
  store?: XcapStore;
  server?: XcapServerOptions;
  /** path of the XCAP root; default `/xcap-root` */
  rootPath?: string;
}

export interface HeraldXcapHttp {
  /** `http://127.0.0.1:<port>/xcap-root` */
  xcapRoot: string;
  store: XcapStore;
  domain: string;
  ha1(user: string): string;
  xcapClient(user: string, options?: Partial<XcapClientOptions>): XcapClient;
  stop(): Promise<void>;
}

const MAX_BODY = 2 * 1024 * 1024;

export async function startHeraldXcapHttp(options: HeraldXcapHttpOptions = {}): Promise<HeraldXcapHttp> {
  const domain = options.domain ?? "example.test";
  const rootPath = (options.rootPath ?? "/xcap-root").replace(/\/+$/, "");
  const store = options.store ?? new MemoryXcapStore();
  const xcap = createXcapServer(store, options.server);
  const ha1s = new Map(Object.entries(options.users ?? {}).map(([u, p]) => [u, digestHa1(u, domain, p)]));
  const digest = new DigestAuthenticator({
    realm: domain,
    secret: randomBytes(32),
    algorithms: ["MD5"],
    credentialsLookup: async (username, realm) => (realm === domain ? ha1s.get(username) : undefined),
    checkUri: true,
  });
  let rootUri = "";

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const url = req.url ?? "/";
    const send = (status: number, headers: Record<string, string>, payload: Uint8Array | string = "") => {
      const buf = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      res.writeHead(status, { ...headers, "Content-Length": String(buf.length) });
      res.end(buf);
    };
    if (url !== rootPath && !url.startsWith(`${rootPath}/`)) return send(404, { "Content-Type": "text/plain" }, "not found\n");
    let user: { aor: string } | null = null;
    const authz = req.headers.authorization;
    if (authz) {
      const v = await digest.verifyCredentials(authz, req.method ?? "GET", url);
      if (v.ok) user = { aor: `${v.username}@${domain}` };
      else {
        const ch = digest.challenge({ stale: v.stale });
        return send(401, { "WWW-Authenticate": ch.values[0]!, "Content-Type": "text/plain" }, "unauthorized\n");
      }
    }
    const [rawPath, query = ""] = url.slice(rootPath.length).split("?", 2) as [string, string?];
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    const r = await xcap.handle({
      method: req.method ?? "GET",
      path: rawPath,
      query,
      headers,
      body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
      user,
      rootUri,
    });
    if (r.status === 401) {
      const ch = digest.challenge();
      return send(401, { ...r.headers, "WWW-Authenticate": ch.values[0]! }, r.body);
    }
    send(r.status, r.headers, r.body);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (res.headersSent) return;
      handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
        res.end(`${(err as Error).message}\n`);
      });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  rootUri = `http://127.0.0.1:${port}${rootPath}`;
  const ha1 = (u: string) => {
    const h = ha1s.get(u);
    if (!h) throw new Error(`unknown user ${u}`);
    return h;
  };
  return {
    xcapRoot: rootUri,
    store,
    domain,
    ha1,
    xcapClient: (u, extra = {}) => new XcapClient({ root: rootUri, xui: `sip:${u}@${domain}`, auth: { username: u, ha1: ha1(u) }, ...extra }),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
