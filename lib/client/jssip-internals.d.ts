/** JsSIP internals Herald builds on (not part of JsSIP's typed public API). */
declare module "jssip/lib/RequestSender.js" {
  import type { UA } from "jssip/lib/UA";
  import type { IncomingResponse, OutgoingRequest } from "jssip/lib/SIPMessage";
  export interface RequestSenderHandlers {
    onRequestTimeout?: () => void;
    onTransportError?: () => void;
    onReceiveResponse?: (response: IncomingResponse) => void;
    onAuthenticated?: (request: OutgoingRequest) => void;
  }
  export default class RequestSender {
    constructor(ua: UA, request: OutgoingRequest, handlers: RequestSenderHandlers);
    send(): void;
  }
}
