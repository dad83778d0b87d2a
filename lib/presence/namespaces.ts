/**
 * XML namespaces of the presence payloads, and the prefixes Herald (like Blink / python-sipsimple)
 * uses when composing them.
 */
export const NS = {
  /** RFC 3863 PIDF */
  pidf: "urn:ietf:params:xml:ns:pidf",
  /** RFC 4479 data model (person, device, deviceID) */
  dm: "urn:ietf:params:xml:ns:pidf:data-model",
  /** RFC 4480 RPID */
  rpid: "urn:ietf:params:xml:ns:pidf:rpid",
  /** RFC 4482 CIPID */
  cipid: "urn:ietf:params:xml:ns:pidf:cipid",
  /** RFC 5196 user agent capabilities */
  caps: "urn:ietf:params:xml:ns:pidf:caps",
  /** AG Projects (Blink) PIDF extensions: status/extended, tuple/device-info */
  agpPidf: "urn:ag-projects:xml:ns:pidf",
  /** AG Projects (Blink) capability extensions: file-transfer, screen-sharing-... */
  agpCaps: "urn:ag-projects:xml:ns:pidf:caps",
  /** OMA Presence data extensions (service-description, willingness...) */
  omaPres: "urn:oma:xml:prs:pidf:oma-pres",
  /** RFC 3858 watcher information */
  watcherinfo: "urn:ietf:params:xml:ns:watcherinfo",
  /** RFC 4662 resource list meta-information */
  rlmi: "urn:ietf:params:xml:ns:rlmi",
  /** RFC 4745 common policy */
  commonPolicy: "urn:ietf:params:xml:ns:common-policy",
  /** RFC 5025 presence authorization rules */
  presRules: "urn:ietf:params:xml:ns:pres-rules",
  /** OMA XDM common policy extensions (external-list, other-identity, anonymous-request) */
  omaCommonPolicy: "urn:oma:xml:xdm:common-policy",
  /** OMA pres-content (status icon document) */
  presContent: "urn:oma:xml:prs:pres-content",
  /** xml:lang */
  xml: "http://www.w3.org/XML/1998/namespace",
} as const;

/** Prefixes used when composing (same as python-sipsimple's, so Blink users see familiar documents). */
export const PREFIXES = {
  dm: NS.dm,
  rpid: NS.rpid,
  c: NS.cipid,
  caps: NS.caps,
  "agp-pidf": NS.agpPidf,
  "agp-caps": NS.agpCaps,
} as const;

/** MIME types of the payloads. */
export const CONTENT_TYPES = {
  pidf: "application/pidf+xml",
  watcherinfo: "application/watcherinfo+xml",
  rlmi: "application/rlmi+xml",
  authPolicy: "application/auth-policy+xml",
  multipartRelated: "multipart/related",
} as const;
