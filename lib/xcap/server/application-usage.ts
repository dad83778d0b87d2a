/**
 * Application usages (RFC 4825 §5): one module per auid describes its MIME type, default
 * document namespace, the trees it lives in, and how its documents are validated (or, for
 * xcap-caps and xcap-directory, generated).
 */
import type { XmlDocumentView } from "../../xml";
import type { XcapDocumentKey, XcapScope } from "../uri";
import type { XcapStore } from "./store";

export interface ApplicationContext {
  key: XcapDocumentKey;
  store: XcapStore;
  /** Absolute XCAP root URI, e.g. `https://example.test/xcap-root`. */
  rootUri: string;
  /** All registered application usages (xcap-caps lists them). */
  applications: readonly ApplicationUsage[];
  /**
   * Whether `user` (default: the document's owner) may not claim `uri` because it names something
   * outside the XCAP documents (XcapServerOptions.isUriTaken). Absent: nothing is taken.
   */
  isUriTaken?: (uri: string, user?: string) => Promise<boolean>;
}

/** What validation learned about a document that the store must index. */
export interface ValidatedDocument {
  /** rls-services: service URIs defined by the document (unique across all users). */
  serviceUris?: string[];
  /** rls-services: those another document holds although they are not its owner's (moved here). */
  reclaimServiceUris?: string[];
}

export interface ApplicationUsage {
  auid: string;
  /** Default document namespace for unprefixed node-selector names (RFC 4825 §5.2). */
  defaultNamespace: string;
  /** MIME type of whole documents (RFC 4825 §5.4). */
  mimeType: string;
  /** Namespaces this usage understands (advertised in xcap-caps). */
  namespaces: readonly string[];
  /** Trees the usage's documents may live in. */
  scopes: readonly XcapScope[];
  /** Anyone, authenticated or not, may GET documents of this usage (the pres-content icon). */
  publicRead?: boolean;
  /**
   * Generated, read-only documents (xcap-caps, xcap-directory): the document text, or null when
   * there is no such document. Usages with `generate` refuse PUT and DELETE with 405.
   */
  generate?(ctx: ApplicationContext): Promise<string | null>;
  /**
   * Check a document about to be stored; throw an XcapConflict (schema-validation-error,
   * uniqueness-failure, constraint-failure) to refuse it (RFC 4825 §5.3, §8.2.5).
   */
  validate?(doc: XmlDocumentView, ctx: ApplicationContext): Promise<ValidatedDocument | void> | ValidatedDocument | void;
}
