/**
 * lib/sip public API. Layering (RFC 3261 §5), imports one way only:
 * syntax/message → stream framing → transport → transaction → dialog. Framework-free:
 * only node: built-ins and files inside lib/sip are imported (enforced by tests/unit/sip/boundary.test.ts).
 */
export { SipParseError, type SipParseErrorCode } from "./parse-error";
export { SipError } from "./sip-error";
export { componentLogger, noopLogger, type LogLevel, type SipLogger } from "./logger";
export { canonicalHeaderName } from "./header-names";
export { Params, quote, unquote, splitTopLevel } from "./syntax";
export { SipUri, AbsoluteUri, parseUri, unescapeUriComponent, type Uri, type SipUriInit } from "./uri";
export { NameAddr, type ContactValue } from "./name-addr";
export { Via, BRANCH_MAGIC_COOKIE } from "./via";
export { CSeq, MAX_CSEQ } from "./cseq";
export { ParamHeader } from "./param-header";
export {
  SipMessage,
  SipRequest,
  SipResponse,
  defaultReason,
  sanitizeReasonPhrase,
  MAX_REASON_PHRASE_LENGTH,
  type HeaderField,
  type HeaderValue,
  type SipBody,
  type SipMessageAny,
  type IncomingRequest,
  type IncomingResponse,
  type OutgoingRequest,
  type OutgoingResponse,
} from "./message";
export { parseMessage, parseHead, type ParseOptions } from "./parser";
export { serializeMessage } from "./serializer";
export { SipStreamParser, parseFrame, DEFAULT_MAX_HEADER_SIZE, DEFAULT_MAX_MESSAGE_SIZE, type KeepAliveKind, type SipStreamParserOptions } from "./stream-parser";
export { SipStreamFramer, type SipStreamFramerHandlers } from "./stream-framer";
export { buildErrorResponse } from "./error-response";
export { parseDigestHeader, serializeDigestHeader, type DigestParams } from "./digest-header";
export { computeHa1, computeDigestResponse, digestHash, normalizeAlgorithm, DIGEST_ALGORITHMS, type DigestAlgorithm } from "./digest-hash";
export {
  DigestAuthenticator,
  testedPassword,
  type CredentialsLookup,
  type DigestAuthenticatorOptions,
  type DigestChallenge,
  type DigestFailure,
  type DigestVerification,
} from "./digest-server";
export { buildDigestAuthorization, type DigestAuthorizationInput } from "./digest-client";
export {
  issueEphemeralCredentials,
  ephemeralPassword,
  ephemeralHa1,
  parseEphemeralUsername,
  ephemeralCredentialsLookup,
  type EphemeralCredentials,
} from "./ephemeral-credentials";
export { T1, T2, T4, TIMER_E_INITIAL, TIMER_F, timerJ, timerK, realTimers, type TimerApi, type TimerHandle } from "./timers";
export { NonInviteClientTransaction, NonInviteClientState, clientTransactionKey } from "./client-transaction";
export { NonInviteServerTransaction, NonInviteServerState, serverTransactionKey } from "./server-transaction";
export { TransactionLayer, type IncomingRequestDisposition, type TransactionLayerOptions } from "./transaction-layer";
export { createResponse, createRequest, generateBranch, generateCallId, generateTag, randomToken, type CreateRequestOptions, type CreateResponseOptions } from "./ua-helpers";
export { Dialog, dialogIdToString, type DialogId, type DialogState, type InDialogRequestOptions } from "./dialog";
export { AorError, canonicalAor, parseAor, type ParseAorOptions, type ParsedAor } from "./aor";
export { SipConnection, normalizeAddress, type SipByteStream, type SipConnectionOptions, type StreamTransport } from "./connection";
export { MemoryFlowEnd, createMemoryFlow, type FlowAddress } from "./memory-flow";
export { SipTransport, IN_PROCESS_FLOW_HOST, type IncomingSipMessage, type ListenAddresses, type SipTransportOptions } from "./transport";
export { detachString, internString, internStrings } from "./strings";
export { connectStream, type TlsClientOptions } from "./connect";
