/** Typed results of the portal's server actions, and the mapping of expected failures. */
import "server-only";
import { AddressBookError } from "../xcap/addressbook";
import { XcapClientError } from "../xcap/client";
import { currentUser, type HeraldUser } from "./auth";
import { IconError } from "./presence-documents";
import { DisplayNameRateError } from "./display-name";
import { AccountError } from "../accounts/service";
import type { z } from "zod";
import type { ActionResult } from "./wire-types";


/** Run an action as the session's user with validated input; expected failures become messages. */
export async function runAction<S extends z.ZodType, T>(
  schema: S,
  input: unknown,
  fn: (user: HeraldUser, data: z.infer<S>) => Promise<T>,
): Promise<ActionResult<T>> {
  const user = await currentUser();
  if (!user) return { ok: false, code: "unauthenticated", error: "Your session has ended. Sign in again." };
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, code: "invalid-input", error: `${issue.path.join(".") || "input"}: ${issue.message}` };
  }
  try {
    return { ok: true, data: await fn(user, parsed.data) };
  } catch (err) {
    return failure(err);
  }
}

export function failure(err: unknown): { ok: false; error: string; code: string } {
  if (err instanceof AddressBookError) return { ok: false, code: err.code, error: err.message };
  if (err instanceof IconError) return { ok: false, code: err.code, error: err.message };
  if (err instanceof DisplayNameRateError) return { ok: false, code: err.code, error: err.message };
  if (err instanceof AccountError) return { ok: false, code: err.code, error: err.message };
  if (err instanceof XcapClientError) {
    if (err.status === 412) {
      return { ok: false, code: "conflict", error: "Your contacts were changed elsewhere at the same moment. Try again." };
    }
    if (err.status === 409) {
      return { ok: false, code: err.condition?.name ?? "conflict", error: `The XCAP server refused the change (${err.condition?.name ?? "conflict"}).` };
    }
    if (err.status === 0) return { ok: false, code: "unreachable", error: "The XCAP server cannot be reached. Try again later." };
  }
  process.emitWarning(`server action failed: ${(err as Error)?.stack ?? err}`);
  return { ok: false, code: "internal", error: "Something went wrong. Try again." };
}
