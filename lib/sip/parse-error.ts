/**
 * Parse errors carry a stable machine-readable `code` plus the SIP status and reason phrase
 * a server should answer with when the offending message is a request (RFC 3261 §16.3, §21.4.1).
 */
export type SipParseErrorCode =
  | "EMPTY_MESSAGE"
  | "MALFORMED_START_LINE"
  | "UNSUPPORTED_VERSION"
  | "INVALID_METHOD"
  | "INVALID_STATUS_CODE"
  | "MALFORMED_HEADER"
  | "HEADER_NAME_INVALID"
  | "MISSING_HEADER"
  | "DUPLICATE_HEADER"
  | "INVALID_URI"
  | "INVALID_NAME_ADDR"
  | "INVALID_VIA"
  | "INVALID_CSEQ"
  | "METHOD_MISMATCH"
  | "INVALID_CONTENT_LENGTH"
  | "MISSING_CONTENT_LENGTH"
  | "BODY_TRUNCATED"
  | "INVALID_PARAMS"
  | "INVALID_VALUE"
  | "NO_HEADER_END"
  | "HEADERS_TOO_LARGE"
  | "MESSAGE_TOO_LARGE"
  | "INVALID_FRAMING";

export class SipParseError extends Error {
  readonly code: SipParseErrorCode;
  /** Status to answer a request with (400 unless the RFC says otherwise, e.g. 505). */
  readonly status: number;
  /** Reason phrase for the answer (made wire-safe where every reason phrase is: `SipResponse`). */
  readonly reason: string;

  constructor(code: SipParseErrorCode, reason: string, status = 400) {
    // malformed input is expected, not a bug: no stack trace to capture (it cost more than the
    // parse under a flood of bad messages)
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${code}: ${reason}`);
    Error.stackTraceLimit = limit;
    this.name = "SipParseError";
    this.code = code;
    this.status = status;
    this.reason = reason;
  }
}
