/**
 * The provisioning API served on 127.0.0.1 for tests, and a client that checks every answer
 * against the OpenAPI document the API publishes: the status is documented for the operation,
 * the content type is JSON or problem+json as documented, and the body matches the route's schema.
 */
import { expect } from "vitest";
import type { Db } from "@/lib/db";
import { AuthLimiter } from "@/lib/accounts/auth-limiter";
import { API_BASE_PATH, createProvisioningApi, type ProvisioningApi } from "@/lib/portal/api/provisioning-api";
import { documentedStatuses } from "@/lib/portal/api/openapi";
import { matchRoute, type Route } from "@/lib/portal/api/router";
import { serveFetch } from "./xcap-http-server";

export interface ApiResult {
  status: number;
  headers: Headers;
  body: unknown;
  /** The raw body text. */
  text: string;
}

export interface TestApi {
  api: ProvisioningApi;
  url: string;
  limiter: AuthLimiter;
  /** A request to `${API_BASE_PATH}${path}`; `body` objects are sent as JSON. */
  call(method: string, path: string, opts?: { token?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<ApiResult>;
  /** Documented (method, path template, status) triples seen so far. */
  seen: Set<string>;
  close(): Promise<void>;
}

export async function serveTestApi(db: Db, opts: { limiter?: AuthLimiter; token?: string; routes?: Route[] } = {}): Promise<TestApi> {
  const limiter = opts.limiter ?? new AuthLimiter();
  const api = createProvisioningApi({ db, authLimiter: limiter, routes: opts.routes });
  const server = await serveFetch((r) => api.handle(r));
  const seen = new Set<string>();
  const call: TestApi["call"] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const token = o.token === undefined ? opts.token : o.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      body = typeof o.body === "string" ? o.body : JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await fetch(`${server.url}${API_BASE_PATH}${path}`, { method, headers, body });
    const text = await res.text();
    const result: ApiResult = { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
    conformsToOpenApi(api, method, path, result);
    seen.add(`${method} ${templateOf(api, method, path)} ${res.status}`);
    return result;
  };
  return { api, url: server.url, limiter, call, seen, close: server.close };
}

/** The route of a request, if any (a path that does not decode has none). */
function routeOf(api: ProvisioningApi, method: string, pathname: string) {
  try {
    const m = matchRoute(api.routes, method, pathname);
    return typeof m === "object" && "route" in m ? m : undefined;
  } catch {
    return undefined;
  }
}

function templateOf(api: ProvisioningApi, method: string, path: string): string {
  return routeOf(api, method, new URL(path, "http://x").pathname)?.route.path ?? path;
}

/** Check one answer against the published document (and the route's own response schema). */
export function conformsToOpenApi(api: ProvisioningApi, method: string, path: string, r: ApiResult): void {
  const pathname = new URL(path, "http://x").pathname;
  const type = r.headers.get("content-type") ?? "";
  if (r.status >= 400) {
    expect(type, `${method} ${path} ${r.status}: problem+json`).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ type: expect.stringMatching(/^urn:herald:problem:/), title: expect.any(String), status: r.status, detail: expect.any(String) });
  }
  const m = routeOf(api, method, pathname);
  if (!m) return; // 400/404/405 of paths without a route: problem checked above
  const op = (api.openApi.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>)[API_BASE_PATH + m.route.path]?.[method.toLowerCase()];
  expect(op, `${method} ${m.route.path} is in the OpenAPI document`).toBeDefined();
  expect(Object.keys(op!.responses).map(Number), `${method} ${m.route.path}: status ${r.status} documented`).toContain(r.status);
  expect(documentedStatuses(m.route)).toContain(r.status);
  const documented = op!.responses[String(r.status)];
  if (r.status < 400) {
    const schema = m.route.responses[r.status]?.schema;
    if (documented.content) {
      expect(type).toMatch(/^application\/json/);
      expect(Object.keys(documented.content)).toEqual(["application/json"]);
    } else expect(r.text).toBe("");
    if (schema) {
      const parsed = schema.safeParse(r.body);
      expect(parsed.success, `${method} ${m.route.path} ${r.status} body matches its schema: ${parsed.error?.message}`).toBe(true);
    }
  } else {
    expect(Object.keys(documented.content ?? {})).toEqual(["application/problem+json"]);
  }
}
