/** REGISTER (RFC 3261 §10.3): authenticated with 401 as the To AOR, then the registrar. */
import { SipError, SipResponse, type SipConnection, type SipRequest, type SipTransport } from "../../sip";
import { aorOf, splitAor } from "../aor";
import type { SipAuthenticator } from "../authenticator";
import type { MethodHandler } from "../dispatcher";
import type { Registrar } from "../registrar";

export function registerHandler(deps: { auth: SipAuthenticator; registrar: Registrar; transport: SipTransport }): MethodHandler {
  const { auth, registrar, transport } = deps;
  return async (request: SipRequest, conn: SipConnection) => {
    const aor = aorOf(request.to.uri);
    if (!aor) throw new SipError(404, "Not Found");
    const { domain } = splitAor(aor);
    if (!(await auth.domain(domain))) throw new SipError(404, "Domain not served here");
    const id = await auth.authenticate(request, domain, false, conn);
    if (id instanceof SipResponse) return { response: id };
    if (id.aor !== aor) throw new SipError(403, "Identity does not match To"); // §10.3 step 3
    auth.trustConnection(conn, request, id.aor);
    try {
      const response = registrar.register(request, aor, conn);
      for (const c of request.contact) {
        if (c === "*") continue;
        const u = c.uri as { host?: string; port?: number };
        if (u.host && u.port) transport.addAlias(conn, u.host.replace(/^\[|\]$/g, ""), u.port); // RFC 5923-style reuse
      }
      return { response };
    } catch (e) {
      if (e instanceof SipError && e.status === 423) throw new SipError(423, e.reason, { headers: [["Min-Expires", String(registrar.minExpires)]] });
      throw e;
    }
  };
}
