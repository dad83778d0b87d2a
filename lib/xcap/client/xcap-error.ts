/**
 * Typed XCAP failures. A 409 response carries an `application/xcap-error+xml` body
 * (RFC 4825 §11) whose single child names the condition; it is parsed into `condition`.
 */
import { childElements, parseXml, textOf, firstChildNS } from "../../xml";
import type { XcapConflictCondition } from "../errors";

export { XCAP_ERROR_NS } from "../errors";
import { XCAP_ERROR_NS } from "../errors";

/** Conditions of RFC 4825 §11.2 (plus any extension element name the server sends). */
export type XcapErrorConditionName = XcapConflictCondition | (string & {});

export interface XcapErrorCondition {
  name: XcapErrorConditionName;
  /** `phrase` attribute, when present */
  phrase?: string;
  /** no-parent: the closest existing ancestor's URI */
  ancestor?: string;
  /** uniqueness-failure: the fields that are not unique, with suggested alternatives */
  exists?: Array<{ field: string; altValues: string[] }>;
}

export interface XcapClientErrorDetails {
  method?: string;
  url?: string;
  condition?: XcapErrorCondition;
  body?: string;
}

/** A failed XCAP request as the client sees it (the server core's outcome type is `XcapError` in ../errors). */
export class XcapClientError extends Error {
  readonly status: number;
  readonly method?: string;
  readonly url?: string;
  readonly condition?: XcapErrorCondition;
  readonly body?: string;

  constructor(status: number, message: string, details: XcapClientErrorDetails = {}) {
    super(message);
    this.name = "XcapClientError";
    this.status = status;
    this.method = details.method;
    this.url = details.url;
    this.condition = details.condition;
    this.body = details.body;
  }

  /** The document changed since it was read (If-Match / If-None-Match failed). */
  get isPreconditionFailed(): boolean {
    return this.status === 412;
  }
}

/** Parse an xcap-error body; undefined when it is not one. */
export function parseXcapErrorBody(body: string): XcapErrorCondition | undefined {
  let doc;
  try {
    doc = parseXml(body, { maxBytes: 64 * 1024 });
  } catch {
    return undefined;
  }
  const root = doc.documentElement;
  if (root.namespaceURI !== XCAP_ERROR_NS || root.localName !== "xcap-error") return undefined;
  const el = childElements(root)[0];
  if (!el) return undefined;
  const cond: XcapErrorCondition = { name: el.localName };
  const phrase = el.getAttribute("phrase");
  if (phrase) cond.phrase = phrase;
  if (el.localName === "no-parent") {
    const anc = textOf(firstChildNS(el, XCAP_ERROR_NS, "ancestor"));
    if (anc) cond.ancestor = anc;
  }
  if (el.localName === "uniqueness-failure") {
    cond.exists = childElements(el)
      .filter((e) => e.localName === "exists")
      .map((e) => ({
        field: e.getAttribute("field") ?? "",
        altValues: childElements(e)
          .filter((a) => a.localName === "alt-value")
          .map((a) => textOf(a) ?? ""),
      }));
  }
  return cond;
}
