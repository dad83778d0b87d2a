/** The OpenAPI 3.1 document of the provisioning API, made from the route table and its zod schemas. */
import { z } from "zod";
import type { Route } from "./router";

/** Problems every authenticated route may answer (RFC 9457 bodies). */
export const COMMON_PROBLEMS: Record<number, string> = {
  400: "malformed request: path, query or body (`errors` points at each problem)",
  401: "missing, unknown or revoked bearer token",
  413: "request body larger than 64 KiB",
  415: "request body is not application/json (or the other type the operation takes)",
  429: "too many failed token attempts from this address; wait Retry-After seconds",
};

const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    errors: z.array(z.object({ pointer: z.string(), detail: z.string() })).optional(),
  });

function schemaOf(s: z.ZodType, io: "input" | "output") {
  return z.toJSONSchema(s, { target: "draft-2020-12", io, unrepresentable: "any" }) as Record<string, unknown>;
}

/** Statuses a route may answer: its own and the common problems (415/413 only with a body). */
export function documentedStatuses(r: Route): number[] {
  const common = Object.keys(COMMON_PROBLEMS).map(Number).filter((s) => r.body || (s !== 413 && s !== 415));
  return [...new Set([...Object.keys(r.responses).map(Number), ...common, 500])].sort();
}

export function openApiDocument(routes: readonly Route[], opts: { basePath: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  const problem = { $ref: "#/components/schemas/Problem" };
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    const query = r.query ? schemaOf(r.query, "input") : undefined;
    const queryParams = query
      ? Object.entries((query.properties ?? {}) as Record<string, Record<string, unknown>>).map(([name, schema]) => ({
          name,
          in: "query",
          required: ((query.required as string[] | undefined) ?? []).includes(name),
          ...(schema.description ? { description: schema.description } : {}),
          schema,
        }))
      : [];
    const responses: Record<string, unknown> = {};
    for (const status of documentedStatuses(r)) {
      const own = r.responses[status];
      if (own && status < 400) {
        responses[String(status)] = {
          description: own.description,
          ...(own.schema ? { content: { "application/json": { schema: schemaOf(own.schema, "output") } } } : {}),
        };
      } else {
        responses[String(status)] = {
          description: own?.description ?? COMMON_PROBLEMS[status] ?? "internal error",
          content: { "application/problem+json": { schema: problem } },
        };
      }
    }
    (paths[opts.basePath + r.path] ??= {})[r.method.toLowerCase()] = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      security: [{ bearer: [] }],
      ...(params.length || queryParams.length ? { parameters: [...params, ...queryParams] } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: {
                "application/json": { schema: schemaOf(r.body, "input") },
                ...(r.rawBody ? { [r.rawBody.contentType]: { schema: { type: "string", description: r.rawBody.description } } } : {}),
              },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Herald provisioning API",
      version: opts.version,
      description: "Accounts, domains and virtual presentities of a Herald presence service. Tokens: `npm run herald -- tokens create --name <name>`. Errors are RFC 9457 problem details.",
    },
    servers: [{ url: "/" }],
    paths,
    components: {
      schemas: { Problem: schemaOf(ProblemSchema, "output") },
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "a token made by `herald tokens create`" } },
    },
  };
}
