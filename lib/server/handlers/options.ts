/** OPTIONS (RFC 3261 §11): what this server does — methods, event packages, body types. */
import { createResponse, generateTag, type SipRequest } from "../../sip";
import type { MethodHandler } from "../dispatcher";

export function optionsHandler(deps: { allow: () => string; allowEvents: () => string; accept: string }): MethodHandler {
  return async (request: SipRequest) => ({
    response: createResponse(request, 200, { toTag: generateTag(), headers: [["Allow", deps.allow()], ["Allow-Events", deps.allowEvents()], ["Accept", deps.accept]] }),
  });
}
