/** The bridge tests' stand-in for the portal session: cookie `session=<user>` is `<user>@<domain>`. */
import type { IncomingMessage } from "node:http";

export function cookieSession(domain: string): (req: IncomingMessage) => Promise<{ aor: string } | null> {
  return async (req) => {
    const m = /(?:^|;\s*)session=([a-z]+)/.exec(req.headers.cookie ?? "");
    return m ? { aor: `${m[1]}@${domain}` } : null;
  };
}
