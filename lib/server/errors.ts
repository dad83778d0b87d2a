import { SipError } from "../sip";

/** A SipError that carries extra response headers (Min-Expires, Accept, Allow-Events...). */
export class SipErrorWithHeaders extends SipError {
  constructor(
    status: number,
    reason: string,
    readonly headers: Array<[string, string]>,
  ) {
    super(status, reason);
  }
}
