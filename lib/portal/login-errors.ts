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

/**
 * next-auth answers a refused credentials sign-in 401 with `{ url: ".../error?error=<code>" }`
 * (the login form posts with `json=true`); a `limited:<seconds>` refusal becomes 429 with
 * Retry-After (RFC 6585 §4), the body unchanged so the form still reads the code.
 */
export async function limitedAs429(res: Response): Promise<Response> {
  if (res.status !== 401 || !(res.headers.get("content-type") ?? "").includes("application/json")) return res;
  const body = await res.text();
  let seconds: number | undefined;
  try {
    const url = (JSON.parse(body) as { url?: unknown }).url;
    const code = typeof url === "string" ? new URL(url, "http://herald.invalid").searchParams.get("error") : null;
    if (code?.startsWith(LIMITED_ERROR_PREFIX)) seconds = Number(code.slice(LIMITED_ERROR_PREFIX.length));
  } catch {
    /* not next-auth's answer: unchanged */
  }
  const headers = new Headers(res.headers);
  if (seconds === undefined || !Number.isFinite(seconds)) return new Response(body, { status: res.status, headers });
  headers.set("retry-after", String(seconds));
  return new Response(body, { status: 429, headers });
}
