/**
 * A final non-2xx outcome that maps to a SIP response (CONVENTIONS: `SipError(status, reason)`),
 * with the extra headers the response must carry (Min-Expires, Accept, Allow-Events, Retry-After…).
 */
export class SipError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly headers: ReadonlyArray<[string, string]>;
  constructor(status: number, reason: string, options?: { headers?: Array<[string, string]>; cause?: unknown }) {
    super(`${status} ${reason}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SipError";
    this.status = status;
    this.reason = reason;
    this.headers = options?.headers ?? [];
  }
}
