/**
 * A small fetch-style router for the provisioning API: each route carries its zod schemas (query,
 * body, responses), from which both the request validation and the OpenAPI document are made,
 * so the document cannot drift from what the handler accepts and answers.
 */
import { z } from "zod";
import { ProblemError } from "./problem";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteContext<Q, B> {
  params: Record<string, string>;
  query: Q;
  body: B;
  /** The body's text when it came as the route's `rawBody` type (then `body` is undefined). */
  raw?: string;
  /** Audit actor: `token:<name>` and the client address. */
  actor: { actor: string; ip: string };
}

export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
}

export interface Route<Q = unknown, B = unknown> {
  method: Method;
  /** Below the API base, with `{name}` parameters, e.g. `/accounts/{address}`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** A second body type the route takes as text besides JSON (e.g. `application/pidf+xml`). */
  rawBody?: { contentType: string; description: string };
  /** Successful responses and route-specific errors (the common ones are added for every route). */
  responses: Record<number, RouteResponse>;
  run(ctx: RouteContext<Q, B>): Promise<RouteResult>;
}

/** Declare a route with its types inferred from its schemas. */
export function route<Q = Record<string, never>, B = undefined>(r: Route<Q, B>): Route {
  return r as unknown as Route;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

function segments(p: string): string[] {
  return p.split("/").filter((s) => s !== "");
}

/**
 * The route for `method` and `path` (below the base), or why none: "not-found" (no such path) or
 * the methods the path allows (405).
 */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch | { allowed: Method[] } | "not-found" {
  const parts = segments(path);
  const allowed: Method[] = [];
  for (const r of routes) {
    const tpl = segments(r.path);
    if (tpl.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < tpl.length && ok; i++) {
      const t = tpl[i];
      if (t.startsWith("{") && t.endsWith("}")) {
        try {
          params[t.slice(1, -1)] = decodeURIComponent(parts[i]);
        } catch {
          throw new ProblemError("invalid-request", `malformed percent-encoding in the path: ${parts[i]}`);
        }
      } else ok = t === parts[i];
    }
    if (!ok) continue;
    if (r.method === method) return { route: r, params };
    allowed.push(r.method);
  }
  return allowed.length ? { allowed } : "not-found";
}

/** Zod issues as RFC 9457 `errors` members (JSON pointers into the body or query). */
export function zodErrors(err: z.ZodError, where: "body" | "query"): { pointer: string; detail: string }[] {
  return err.issues.map((i) => ({
    pointer: where === "body" ? "/" + i.path.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/") : `?${String(i.path[0] ?? "")}`,
    detail: i.message,
  }));
}
