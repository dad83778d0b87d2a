/**
 * NOTIFY for dialogs the server created as a subscriber (RLS back ends in other domains): each
 * handler is asked in turn; with none left the answer is 481 (RFC 6665 §4.1.3).
 */
import { createResponse, generateTag, type SipConnection, type SipRequest, type SipResponse } from "../../sip";
import type { MethodHandler } from "../dispatcher";

/**
 * Handles a NOTIFY the server receives. Returns the response, or undefined when the NOTIFY is not
 * for it (the next handler is asked).
 */
export type NotifyHandler = (request: SipRequest, conn: SipConnection) => SipResponse | undefined | Promise<SipResponse | undefined>;

export function notifyHandler(handlers: readonly NotifyHandler[]): MethodHandler {
  return async (request: SipRequest, conn: SipConnection) => {
    for (const h of handlers) {
      const response = await h(request, conn);
      if (response) return { response };
    }
    return { response: createResponse(request, 481, { toTag: request.to.tag === undefined ? generateTag() : undefined }) };
  };
}
