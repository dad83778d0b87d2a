/**
 * XCAP errors (RFC 4825 §11): every failure carries the HTTP status it maps to; 409 conflicts
 * carry the `urn:ietf:params:xml:ns:xcap-error` element that goes into the response body.
 */
import { escapeXml } from "../xml";
import { NS } from "../presence/namespaces";

/** A final non-2xx outcome of an XCAP request. */
export class XcapError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "XcapError";
  }
}

/** The error conditions of RFC 4825 §11.2 (the child element of `<xcap-error>`). */
export type XcapConflictCondition =
  | "not-well-formed"
  | "not-xml-frag"
  | "no-parent"
  | "schema-validation-error"
  | "not-xml-att-value"
  | "cannot-insert"
  | "cannot-delete"
  | "uniqueness-failure"
  | "constraint-failure"
  | "extension"
  | "not-utf-8";

export interface UniquenessExists {
  /** Relative node selector of the element or attribute that must be unique, e.g. `rls-services/service/@uri`. */
  field: string;
  /** Values the client may use instead. */
  altValues: string[];
}

/** 409 Conflict with an `application/xcap-error+xml` body (RFC 4825 §11). */
export class XcapConflict extends XcapError {
  constructor(
    readonly condition: XcapConflictCondition,
    readonly phrase?: string,
    readonly detail: { ancestor?: string; exists?: UniquenessExists[] } = {},
  ) {
    super(409, `${condition}${phrase ? `: ${phrase}` : ""}`);
    this.name = "XcapConflict";
  }

  /** The `<xcap-error>` document for the response body. */
  toXml(): string {
    const phraseAttr = this.phrase ? ` phrase="${escapeXml(this.phrase)}"` : "";
    let inner: string;
    if (this.condition === "no-parent") {
      inner = this.detail.ancestor
        ? `<no-parent${phraseAttr}><ancestor>${escapeXml(this.detail.ancestor)}</ancestor></no-parent>`
        : `<no-parent${phraseAttr}/>`;
    } else if (this.condition === "uniqueness-failure") {
      const exists = (this.detail.exists ?? [])
        .map(
          (e) =>
            `<exists field="${escapeXml(e.field)}">` +
            e.altValues.map((v) => `<alt-value>${escapeXml(v)}</alt-value>`).join("") +
            `</exists>`,
        )
        .join("");
      inner = `<uniqueness-failure${phraseAttr}>${exists}</uniqueness-failure>`;
    } else {
      inner = `<${this.condition}${phraseAttr}/>`;
    }
    return `<?xml version="1.0" encoding="UTF-8"?>\n<xcap-error xmlns="${NS.xcapError}">${inner}</xcap-error>\n`;
  }
}

export function schemaError(phrase: string): XcapConflict {
  return new XcapConflict("schema-validation-error", phrase);
}

export function constraintError(phrase: string): XcapConflict {
  return new XcapConflict("constraint-failure", phrase);
}
