/**
 * Protocol identifiers, each defined once: XML namespaces of the presence payloads and XCAP
 * documents, XCAP application usage ids (AUIDs) and MIME types. The lowest layer that needs them
 * (lib/presence); lib/xcap, lib/server, lib/client and the portal import them from here.
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
  /** RFC 4826 resource lists */
  resourceLists: "urn:ietf:params:xml:ns:resource-lists",
  /** RFC 4826 RLS services */
  rlsServices: "urn:ietf:params:xml:ns:rls-services",
  /** RFC 4745 common policy */
  commonPolicy: "urn:ietf:params:xml:ns:common-policy",
  /** RFC 5025 presence authorization rules */
  presRules: "urn:ietf:params:xml:ns:pres-rules",
  /** OMA XDM common policy extensions (external-list, other-identity, anonymous-request) */
  omaCommonPolicy: "urn:oma:xml:xdm:common-policy",
  /** OMA pres-content (status icon document) */
  presContent: "urn:oma:xml:prs:pres-content",
  /** RFC 4825 §11 xcap-error */
  xcapError: "urn:ietf:params:xml:ns:xcap-error",
  /** RFC 4825 §12 xcap-caps */
  xcapCaps: "urn:ietf:params:xml:ns:xcap-caps",
  /** OMA XDM xcap-directory */
  xcapDirectory: "urn:oma:xml:xdm:xcap-directory",
  /** Blink's address book (groups, contacts, policies) inside resource-lists */
  addressbook: "urn:ag-projects:xml:ns:addressbook",
  /** python-sipsimple's `attributes` extension of group / contact / uri / policy-element */
  sipsimpleAttributes: "urn:ag-projects:sipsimple:xml:ns:addressbook",
  /** AG `attributes` extension of resource-lists entries (also read on address-book items) */
  agpResourceLists: "urn:ag-projects:xml:ns:resource-lists",
  /** im-rules action namespace of the SER presence handbook ("MESSAGE authorization rules", iptel). */
  imRules: "urn:iptel:xml:ns:im-rules",
  /** RFC 3994 is-composing */
  isComposing: "urn:ietf:params:xml:ns:im-iscomposing",
  /** RFC 5438 IMDN (XML body) */
  imdn: "urn:ietf:params:xml:ns:imdn",
  /** RFC 5438 §6.2: the CPIM header namespace (`NS: imdn <urn:ietf:params:imdn>`) */
  imdnHeaders: "urn:ietf:params:imdn",
  /** RFC 6120 §8.3 XMPP stanza error conditions */
  xmppStanzas: "urn:ietf:params:xml:ns:xmpp-stanzas",
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

/** XCAP application usage ids (RFC 4825 §12, RFC 4826, RFC 4827, RFC 5025, OMA). */
export const AUID = {
  resourceLists: "resource-lists",
  rlsServices: "rls-services",
  /** The OMA pres-rules auid Blink and Herald write. */
  presRules: "org.openmobilealliance.pres-rules",
  /** The IETF pres-rules auid: only the optional identity-rules mirror writes it. */
  ietfPresRules: "pres-rules",
  pidfManipulation: "pidf-manipulation",
  presContent: "org.openmobilealliance.pres-content",
  xcapCaps: "xcap-caps",
  xcapDirectory: "org.openmobilealliance.xcap-directory",
  dialogRules: "org.openxcap.dialog-rules",
  /** Who may send a user instant messages (the SER presence handbook's usage; Herald's im-rules). */
  imRules: "im-rules",
} as const;

/** MIME types of the payloads and documents. */
export const CONTENT_TYPES = {
  pidf: "application/pidf+xml",
  watcherinfo: "application/watcherinfo+xml",
  rlmi: "application/rlmi+xml",
  authPolicy: "application/auth-policy+xml",
  multipartRelated: "multipart/related",
  resourceLists: "application/resource-lists+xml",
  rlsServices: "application/rls-services+xml",
  presContent: "application/vnd.oma.pres-content+xml",
  xcapCaps: "application/xcap-caps+xml",
  xcapDirectory: "application/vnd.oma.xcap-directory+xml",
  xcapError: "application/xcap-error+xml",
  xcapElement: "application/xcap-el+xml",
  xcapAttribute: "application/xcap-att+xml",
  xcapNamespaces: "application/xcap-ns+xml",
  /** Instant messages (RFC 3428 bodies, RFC 3862 CPIM, RFC 3994, RFC 5438). */
  text: "text/plain",
  cpim: "message/cpim",
  isComposing: "application/im-iscomposing+xml",
  imdn: "message/imdn+xml",
} as const;
