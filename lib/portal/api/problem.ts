/**
 * Errors of the provisioning API as RFC 9457 problem details (`application/problem+json`): `type`
 * is a stable URN per kind of problem (§3.1.1: an absolute URI, not meant to be dereferenced),
 * `title` its fixed summary, `detail` what was wrong with this request. Validation problems add
 * an `errors` member (§3.2 extension) with a JSON pointer into the request body per problem.
 */
import { AccountError, type AccountErrorCode } from "../../accounts/service";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export type ProblemCode =
  | "invalid-request"
  | "unauthorized"
  | "not-found"
  | "method-not-allowed"
  | "conflict"
  | "payload-too-large"
  | "unsupported-media-type"
  | "unprocessable"
  | "too-many-requests"
  | "internal";

const TITLES: Record<ProblemCode, [number, string]> = {
  "invalid-request": [400, "The request is malformed"],
  unauthorized: [401, "A valid bearer token is required"],
  "not-found": [404, "No such resource"],
  "method-not-allowed": [405, "Method not allowed on this resource"],
  conflict: [409, "The request conflicts with the current state"],
  "payload-too-large": [413, "The request body is too large"],
  "unsupported-media-type": [415, "Unsupported request content type"],
  unprocessable: [422, "The request cannot be carried out"],
  "too-many-requests": [429, "Too many failed attempts"],
  internal: [500, "Internal error"],
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { pointer: string; detail: string }[];
}

export class ProblemError extends Error {
  constructor(
    readonly code: ProblemCode,
    detail: string,
    readonly extra: { errors?: Problem["errors"]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = "ProblemError";
  }

  get status(): number {
    return TITLES[this.code][0];
  }
}

export function problemType(code: ProblemCode): string {
  return `urn:herald:problem:${code}`;
}

export function problemResponse(code: ProblemCode, detail: string, extra: ProblemError["extra"] = {}): Response {
  const [status, title] = TITLES[code];
  const body: Problem = { type: problemType(code), title, status, detail, ...(extra.errors ? { errors: extra.errors } : {}) };
  return new Response(JSON.stringify(body), { status, headers: { "content-type": PROBLEM_CONTENT_TYPE, "cache-control": "no-store", ...extra.headers } });
}

const ACCOUNT_PROBLEMS: Record<AccountErrorCode, ProblemCode> = {
  "malformed-address": "invalid-request",
  "malformed-document": "invalid-request",
  "invalid-value": "unprocessable",
  "weak-password": "unprocessable",
  "unknown-domain": "unprocessable",
  "unknown-account": "not-found",
  "unknown-domain-name": "not-found",
  "duplicate-account": "conflict",
  "duplicate-domain": "conflict",
  "realm-in-use": "conflict",
  "duplicate-list": "conflict",
  "unknown-list": "not-found",
};

/** The problem an error thrown by a route maps to (undefined: not an expected error). */
export function problemOf(err: unknown): ProblemError | undefined {
  if (err instanceof ProblemError) return err;
  if (err instanceof AccountError) return new ProblemError(ACCOUNT_PROBLEMS[err.code], err.message);
  return undefined;
}
