/**
 * Where the portal may send a browser after sign-in: a path on this origin, nothing else. The
 * value is parsed with `URL` (as a browser would: tabs and newlines dropped, `\` read as `/`, dot
 * segments removed) and only a result on the same origin whose path cannot be read as
 * protocol-relative (`//host`) is kept. Control characters are refused outright.
 */
const BASE = "http://herald.invalid";
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

export function hasControlCharacters(value: string): boolean {
  return CONTROL_RE.test(value);
}

/** A same-origin path (with query and fragment, percent-encoded), or "/" for anything else. */
export function safeCallbackUrl(raw: string | undefined | null): string {
  if (!raw || !raw.startsWith("/") || hasControlCharacters(raw)) return "/";
  let url: URL;
  try {
    url = new URL(raw, BASE);
  } catch {
    return "/";
  }
  if (url.origin !== BASE) return "/";
  const path = url.pathname + url.search + url.hash;
  if (path.startsWith("//") || path.startsWith("/\\") || new URL(path, BASE).origin !== BASE) return "/";
  return path;
}

/**
 * next-auth's redirect callback: an absolute URL is kept only on `baseUrl`'s origin, a path only
 * when safe; anything else goes to the portal's start page.
 */
export function safeRedirect(url: string, baseUrl: string): string {
  let path = url;
  if (!url.startsWith("/")) {
    try {
      const u = new URL(url);
      if (u.origin !== new URL(baseUrl).origin) return baseUrl;
      path = u.pathname + u.search + u.hash;
    } catch {
      return baseUrl;
    }
  }
  return `${baseUrl.replace(/\/$/, "")}${safeCallbackUrl(path)}`;
}

/** The `callbackUrl` query parameter of a request target, when it carries control characters. */
export function badCallbackUrl(target: string | undefined): boolean {
  if (!target || !target.includes("callbackUrl")) return false;
  const q = target.indexOf("?");
  if (q < 0) return false;
  try {
    return new URLSearchParams(target.slice(q + 1)).getAll("callbackUrl").some(hasControlCharacters);
  } catch {
    return false;
  }
}
