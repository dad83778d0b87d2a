/**
 * Why an account's sessions ended, and what the page and the login form say about it. No imports:
 * the browser bundle uses it too. The bridge's close reason (code 4001) is the reason code.
 */
export type RevocationReason = "disabled" | "password-changed" | "deleted" | "domain-disabled";

export const REVOCATION_REASONS: readonly RevocationReason[] = ["disabled", "password-changed", "deleted", "domain-disabled"];

/**
 * A revocation, "ended": a session from before a change whose kind is no longer known (its epoch
 * moved), or "operator": the operator ended this page's registration in the console (this page
 * only; the page signs itself out).
 */
export type SessionEndReason = RevocationReason | "ended" | "operator";

export const REVOCATION_MESSAGES: Record<SessionEndReason, string> = {
  disabled: "Your account was disabled; ask your operator",
  "password-changed": "Your password was changed; sign in with the new password",
  deleted: "Your account was deleted",
  "domain-disabled": "Your domain was disabled; ask your operator",
  ended: "Your session has ended; sign in again",
  operator: "The operator signed you out; sign in again",
};

export function isRevocationReason(v: unknown): v is RevocationReason {
  return typeof v === "string" && (REVOCATION_REASONS as readonly string[]).includes(v);
}

export function isSessionEndReason(v: unknown): v is SessionEndReason {
  return v === "ended" || v === "operator" || isRevocationReason(v);
}

/** What to tell the user for a close reason or `ended` parameter (anything unknown: the generic line). */
export function sessionEndMessage(reason: unknown): string {
  return REVOCATION_MESSAGES[isSessionEndReason(reason) ? reason : "ended"];
}
