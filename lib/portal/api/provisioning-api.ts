/**
 * The provisioning API (`/api/v1`): JSON resources for operators' scripts, authenticated by a
 * bearer token (RFC 6750 §2.1; cookies are ignored, so a browser session — even an admin's — is
 * no credential here and there is no CSRF surface). Bad tokens count in the shared auth limiter
 * (keyed by the token's shown prefix and the client address): refused with 429 + Retry-After.
 * Every answer that is not a success is an RFC 9457 problem; the OpenAPI document is public at
 * `/api/v1/openapi.json`.
 */
import type { Db } from "../../db";
import type { Logger } from "../../log";
import type { AuthLimiter } from "../../accounts/auth-limiter";
import { tokenLimiterKey, verifyApiToken } from "../../accounts/api-tokens";
import { CLIENT_IP_HEADER } from "../client-address";
import { problemOf, problemResponse, ProblemError } from "./problem";
import { matchRoute, zodErrors, type Route } from "./router";
import { openApiDocument } from "./openapi";
import { provisioningRoutes } from "./routes";

export const API_BASE_PATH = "/api/v1";
/** Largest request body, bytes. */
export const API_MAX_BODY = 64 * 1024;

export interface ProvisioningApiOptions {
  db: Db;
  /** The process's limiter of password guesses (shared with login, XCAP and SIP). */
  authLimiter?: AuthLimiter;
  logger?: Logger;
  /** Extra routes (presentities, lists) added by other modules. */
  routes?: Route[];
}

export interface ProvisioningApi {
  handle(req: Request): Promise<Response>;
  readonly routes: readonly Route[];
  readonly openApi: ReturnType<typeof openApiDocument>;
}

const CHALLENGE = 'Bearer realm="herald-api"';

export function createProvisioningApi(opts: ProvisioningApiOptions): ProvisioningApi {
  const routes = [...provisioningRoutes(opts.db), ...(opts.routes ?? [])];
  const openApi = openApiDocument(routes, { basePath: API_BASE_PATH, version: "1" });

  async function authenticate(req: Request, ip: string): Promise<string> {
    const header = req.headers.get("authorization") ?? "";
    const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (!m) {
      // RFC 6750 §3.1: no credentials at all → a challenge without an error code
      throw new ProblemError("unauthorized", header ? "the Authorization header is not a bearer token" : "no bearer token (Authorization: Bearer <token>)", {
        headers: { "www-authenticate": header ? `${CHALLENGE}, error="invalid_request"` : CHALLENGE },
      });
    }
    const token = m[1];
    const attempt = opts.authLimiter?.attempt({ account: tokenLimiterKey(token), address: ip });
    if (attempt && !attempt.allowed) {
      throw new ProblemError("too-many-requests", `too many failed token attempts; retry in ${attempt.retryAfterSeconds} s`, {
        headers: { "retry-after": String(attempt.retryAfterSeconds) },
      });
    }
    let check: Awaited<ReturnType<typeof verifyApiToken>>;
    try {
      check = await verifyApiToken(opts.db, token);
    } catch (err) {
      attempt?.released();
      throw err;
    }
    if (!check.ok) {
      // a revoked token is a known one, not a guess (as a disabled account's right password)
      if (check.reason === "revoked") attempt?.released();
      else attempt?.failed();
      throw new ProblemError("unauthorized", check.reason === "revoked" ? "the token was revoked" : "unknown token", {
        headers: { "www-authenticate": `${CHALLENGE}, error="invalid_token"` },
      });
    }
    attempt?.succeeded();
    return check.name;
  }

  /** The body as text (at most API_MAX_BODY bytes) when its media type is one of `types`. */
  async function readBody(req: Request, types: string[]): Promise<{ type: string; text: string }> {
    const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (!types.includes(type)) throw new ProblemError("unsupported-media-type", `send ${types.join(" or ")} (got ${type || "no content type"})`);
    const declared = Number(req.headers.get("content-length") ?? "0");
    if (declared > API_MAX_BODY) throw new ProblemError("payload-too-large", `body larger than ${API_MAX_BODY} bytes`);
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (req.body) {
      const reader = req.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > API_MAX_BODY) {
          await reader.cancel();
          throw new ProblemError("payload-too-large", `body larger than ${API_MAX_BODY} bytes`);
        }
        chunks.push(value);
      }
    }
    return { type, text: Buffer.concat(chunks).toString("utf8") };
  }

  function parseJson(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ProblemError("invalid-request", `body is not JSON: ${(err as Error).message}`);
    }
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname.startsWith(API_BASE_PATH) ? url.pathname.slice(API_BASE_PATH.length) : url.pathname;
    const ip = req.headers.get(CLIENT_IP_HEADER) ?? "unknown";
    try {
      if (path === "/openapi.json") {
        if (req.method !== "GET" && req.method !== "HEAD") throw new ProblemError("method-not-allowed", `${req.method} not allowed`, { headers: { allow: "GET, HEAD" } });
        return Response.json(openApi, { headers: { "cache-control": "no-cache" } });
      }
      const match = matchRoute(routes, req.method, path);
      if (match === "not-found") throw new ProblemError("not-found", `no resource ${url.pathname}`);
      if ("allowed" in match) throw new ProblemError("method-not-allowed", `${req.method} not allowed on ${url.pathname}`, { headers: { allow: match.allowed.join(", ") } });
      const tokenName = await authenticate(req, ip);
      const r = match.route;
      let query: unknown = {};
      if (r.query) {
        const parsed = r.query.safeParse(Object.fromEntries(url.searchParams));
        if (!parsed.success) throw new ProblemError("invalid-request", "invalid query parameters", { errors: zodErrors(parsed.error, "query") });
        query = parsed.data;
      } else if ([...url.searchParams.keys()].length > 0) {
        throw new ProblemError("invalid-request", `${r.method} ${r.path} takes no query parameters`);
      }
      let body: unknown = undefined;
      let raw: string | undefined;
      if (r.body) {
        const got = await readBody(req, ["application/json", ...(r.rawBody ? [r.rawBody.contentType] : [])]);
        if (got.type !== "application/json") raw = got.text;
        else {
          const parsed = r.body.safeParse(parseJson(got.text));
          if (!parsed.success) throw new ProblemError("invalid-request", "invalid request body", { errors: zodErrors(parsed.error, "body") });
          body = parsed.data;
        }
      }
      const result = await r.run({ params: match.params, query, body, raw, actor: { actor: `token:${tokenName}`, ip } });
      const headers = { "cache-control": "no-store", ...result.headers };
      if (result.body === undefined) return new Response(null, { status: result.status, headers });
      return Response.json(result.body, { status: result.status, headers });
    } catch (err) {
      const p = problemOf(err);
      if (p) return problemResponse(p.code, p.message, p.extra);
      opts.logger?.("error", "api: request failed", { method: req.method, path: url.pathname, error: err instanceof Error ? err.message : String(err) });
      return problemResponse("internal", "the request failed; see the server log");
    }
  }

  return { handle, routes, openApi };
}
