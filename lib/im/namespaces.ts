/** Namespaces and media types of the instant-message payloads. */
export const IM_NS = {
  /** im-rules action namespace of the SER presence handbook ("MESSAGE authorization rules", iptel). */
  imRules: "urn:iptel:xml:ns:im-rules",
  /** RFC 3994 is-composing */
  isComposing: "urn:ietf:params:xml:ns:im-iscomposing",
  /** RFC 5438 IMDN (XML body and CPIM header namespace) */
  imdn: "urn:ietf:params:xml:ns:imdn",
  /** RFC 5438 §6.2: the CPIM header namespace (`NS: imdn <urn:ietf:params:imdn>`) */
  imdnHeaders: "urn:ietf:params:imdn",
} as const;

export const IM_CONTENT_TYPES = {
  text: "text/plain",
  cpim: "message/cpim",
  isComposing: "application/im-iscomposing+xml",
  imdn: "message/imdn+xml",
} as const;

