/** pidf-manipulation application usage (RFC 4827): a PIDF document the presence server composes in. */
import { schemaError } from "../../errors";
import type { ApplicationUsage } from "../application-usage";
import { checkAttributes, checkContent, expectRoot, isAnyUri, isDateTime, isNCName, textOnly } from "../validation";

export const PIDF_NS = "urn:ietf:params:xml:ns:pidf";
export const DATA_MODEL_NS = "urn:ietf:params:xml:ns:pidf:data-model";

export const pidfManipulationApplication: ApplicationUsage = {
  auid: "pidf-manipulation",
  defaultNamespace: PIDF_NS,
  mimeType: "application/pidf+xml",
  namespaces: [PIDF_NS],
  scopes: ["users"],
  validate(doc) {
    const root = expectRoot(doc, PIDF_NS, "presence");
    checkAttributes(root, ["entity"], ["entity"]);
    if (!isAnyUri(root.getAttribute("entity")!)) throw schemaError("presence entity is not a URI");
    // tuple, person and device ids are xs:ID: NCNames, unique in the document
    const ids = new Set<string>();
    for (let c = root.firstChild; c; c = c.nextSibling) {
      if (c.nodeType !== 1) continue;
      const e = c as Element;
      const isTuple = e.namespaceURI === PIDF_NS && e.localName === "tuple";
      const isDm = e.namespaceURI === DATA_MODEL_NS && (e.localName === "person" || e.localName === "device");
      if (!isTuple && !isDm) continue;
      const id = e.getAttribute("id");
      if (id === null) throw schemaError(`${e.localName} requires an id`);
      if (!isNCName(id)) throw schemaError(`id "${id}" is not an NCName`);
      if (ids.has(id)) throw schemaError(`duplicate id "${id}"`);
      ids.add(id);
    }
    for (const k of checkContent(root, PIDF_NS, { tuple: "T", note: "N" }, /^T*N*O*$/)) {
      if (k.namespaceURI !== PIDF_NS) continue;
      if (k.localName === "note") {
        textOnly(k);
        continue;
      }
      checkAttributes(k, ["id"], ["id"]);
      for (const t of checkContent(k, PIDF_NS, { status: "S", contact: "C", note: "N", timestamp: "M" }, /^SO*C?N*M?$/)) {
        if (t.namespaceURI !== PIDF_NS) continue;
        if (t.localName === "status") {
          for (const b of checkContent(t, PIDF_NS, { basic: "B" }, /^B?O*$/)) {
            if (b.namespaceURI === PIDF_NS) {
              const v = textOnly(b).trim();
              if (v !== "open" && v !== "closed") throw schemaError(`basic "${v}" is not open|closed`);
            }
          }
        } else if (t.localName === "timestamp") {
          if (!isDateTime(textOnly(t))) throw schemaError("timestamp is not a dateTime");
        } else if (t.localName === "contact") {
          checkAttributes(t, ["priority"]);
          if (!isAnyUri(textOnly(t))) throw schemaError("contact is not a URI");
        } else textOnly(t);
      }
    }
  },
};
