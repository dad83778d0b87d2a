/**
 * The portal login's error codes, as next-auth hands the message thrown by `authorize` to the
 * page: `invalid`, `disabled`, and `limited:<seconds>` (too many failures; try again then).
 */
export const LIMITED_ERROR_PREFIX = "limited:";

const MESSAGES: Record<string, string> = {
  invalid: "Wrong SIP address or password.",
  disabled: "This account is disabled. Ask your operator.",
};

/** What the login page shows for an error code. */
export function loginErrorMessage(code: string): string {
  const limited = /^limited(?::(\d+))?$/.exec(code);
  if (limited) {
    const seconds = Number(limited[1] ?? 60);
    const minutes = Math.ceil(seconds / 60);
    const wait = seconds < 60 ? `${seconds} second${seconds === 1 ? "" : "s"}` : `${minutes} minute${minutes === 1 ? "" : "s"}`;
    return `Too many failed attempts. Try again in ${wait}.`;
  }
  return MESSAGES[code] ?? MESSAGES.invalid;
}
