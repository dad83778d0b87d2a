/** A final non-2xx outcome that maps to a SIP response (CONVENTIONS: `SipError(status, reason)`). */
export class SipError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, options?: { cause?: unknown }) {
    super(`${status} ${reason}`, options);
    this.name = "SipError";
    this.status = status;
    this.reason = reason;
  }
}
