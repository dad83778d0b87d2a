/** Public API of the XCAP server core (framework-free; the route handler and Prisma store live elsewhere). */
export {
  handleXcapRequest,
  createXcapServer,
  computeEtag,
  XCAP_EL_MIME,
  XCAP_ATT_MIME,
  XCAP_NS_MIME,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_DOCUMENTS_PER_USER,
  DEFAULT_MAX_BYTES_PER_USER,
  type XcapRequest,
  type XcapResponse,
  type XcapChangeEvent,
  type XcapChangeAction,
  type XcapServerOptions,
  type XcapServer,
} from "./handler";
export {
  MemoryXcapStore,
  type XcapStore,
  type StoredXcapDocument,
  type XcapGetOptions,
  type XcapPutInput,
  type XcapPutResult,
  type XcapDocumentListing,
  type XcapUsage,
} from "./store";
export type { ApplicationUsage, ApplicationContext, ValidatedDocument } from "./application-usage";
export * from "./applications";
export {
  getPresContentIcon,
  servePresContentIcon,
  decodePresContent,
  sniffImageType,
  STATUS_ICON_DOCUMENT,
  PRES_CONTENT_AUID,
  DEFAULT_MAX_ICON_BYTES,
  createPresContentApplication,
  type PresContentIcon,
} from "./applications/pres-content";
export { XcapError, XcapConflict, XCAP_ERROR_NS, XCAP_ERROR_MIME, type XcapConflictCondition } from "../errors";
export { parseXcapUri, buildXcapUri, type XcapDocumentKey, type XcapUri, type XcapScope } from "../uri";
