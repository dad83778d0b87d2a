/**
 * PUBLISH (RFC 3903): only the presentity itself may publish (From = Request-URI = the
 * authenticated identity); the state goes to the package that accepts publications.
 */
import { MemoryFlowEnd, SipError, SipResponse, type SipConnection, type SipRequest } from "../../sip";
import { aorOf, splitAor } from "../aor";
import type { AccountDirectory } from "../account-directory";
import type { SipAuthenticator } from "../authenticator";
import type { MethodHandler } from "../dispatcher";

/** An event state compositor (RFC 3903 §6): the presence package. */
export interface Publisher {
  /** Event token it accepts publications for. */
  readonly name: string;
  publish(request: SipRequest, presentity: string, origin: { connectionId: string; inProcessFlow?: boolean }): SipResponse;
}

export function publishHandler(deps: { auth: SipAuthenticator; accounts: AccountDirectory; publisher: Publisher }): MethodHandler {
  const { auth, accounts, publisher } = deps;
  return async (request: SipRequest, conn: SipConnection) => {
    const presentity = aorOf(request.uri) ?? aorOf(request.to.uri);
    if (!presentity) throw new SipError(404, "Not Found");
    const { user, domain } = splitAor(presentity);
    if (!(await auth.domain(domain))) throw new SipError(404, "Domain not served here");
    const ev = request.event?.value;
    if (ev !== publisher.name) throw new SipError(489, "Bad Event", { headers: [["Allow-Events", publisher.name]] }); // RFC 3903 §6 step 2
    const id = await auth.authenticate(request, splitAor(aorOf(request.from.uri) ?? presentity).domain, auth.proxyChallenge, conn);
    if (id instanceof SipResponse) return { response: id };
    if (id.aor !== aorOf(request.from.uri) || id.aor !== presentity) throw new SipError(403, "Only the presentity may publish");
    auth.trustConnection(conn, request, id.aor);
    if ((await accounts.accountStatus(user, domain)) !== "active") throw new SipError(404, "Not Found");
    return { response: publisher.publish(request, presentity, { connectionId: conn.id, inProcessFlow: conn.stream instanceof MemoryFlowEnd }) };
  };
}
