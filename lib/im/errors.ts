/**
 * The one error type of lib/im. `code` is stable; `status` is the SIP status a server answers with
 * when the payload came in a MESSAGE (400 malformed, 415 a media type it does not handle).
 */
export type ImPayloadErrorCode = "malformed-cpim" | "not-xml" | "wrong-root" | "invalid-value" | "bad-content-type" | "too-large";

export class ImPayloadError extends Error {
  constructor(
    readonly code: ImPayloadErrorCode,
    message: string,
    readonly status: number = code === "bad-content-type" ? 415 : code === "too-large" ? 413 : 400,
  ) {
    super(message);
    this.name = "ImPayloadError";
  }
}
