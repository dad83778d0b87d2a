/**
 * The one error type of lib/presence. `code` is stable (tests and callers switch on it);
 * `status` is the SIP status a server answers with when the payload came in a request
 * (400 for malformed bodies, 415 for a media type it does not handle).
 */
export type PresencePayloadErrorCode =
  | "not-xml"
  | "wrong-root"
  | "missing-attribute"
  | "invalid-value"
  | "bad-content-type"
  | "missing-boundary"
  | "malformed-multipart"
  | "too-large"
  | "too-deep"
  | "missing-root-part";

export class PresencePayloadError extends Error {
  constructor(
    readonly code: PresencePayloadErrorCode,
    message: string,
    readonly status: number = code === "bad-content-type" ? 415 : 400,
  ) {
    super(message);
    this.name = "PresencePayloadError";
  }
}
