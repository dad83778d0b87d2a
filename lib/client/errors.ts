/** Errors of the browser client; `status` is the SIP status the failure maps to (0 when none, e.g. no connection). */
export class SipClientError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: "transport" | "timeout" | "rejected" | "closed" = "rejected",
  ) {
    super(message);
    this.name = "SipClientError";
  }
}
