/** pidf-manipulation application usage (RFC 4827): a PIDF document the presence server composes in. */
import type { XmlElementView } from "../../../xml";
import { schemaError } from "../../errors";
import type { ApplicationUsage } from "../application-usage";
import { checkAttributes, checkContent, expectRoot, isAnyUri, isDateTime, isNCName, textOnly } from "../validation";
import { AUID, CONTENT_TYPES, NS } from "../../../presence/namespaces";

export const pidfManipulationApplication: ApplicationUsage = {
  auid: AUID.pidfManipulation,
  defaultNamespace: NS.pidf,
  mimeType: CONTENT_TYPES.pidf,
  namespaces: [NS.pidf],
  scopes: ["users"],
  validate(doc) {
    const root = expectRoot(doc, NS.pidf, "presence");
    checkAttributes(root, ["entity"], ["entity"]);
    if (!isAnyUri(root.getAttribute("entity")!)) throw schemaError("presence entity is not a URI");
    // tuple, person and device ids are xs:ID: NCNames, unique in the document
    const ids = new Set<string>();
    for (let c = root.firstChild; c; c = c.nextSibling) {
      if (c.nodeType !== 1) continue;
      const e = c as XmlElementView;
      const isTuple = e.namespaceURI === NS.pidf && e.localName === "tuple";
      const isDm = e.namespaceURI === NS.dm && (e.localName === "person" || e.localName === "device");
      if (!isTuple && !isDm) continue;
      const id = e.getAttribute("id");
      if (id === null) throw schemaError(`${e.localName} requires an id`);
      if (!isNCName(id)) throw schemaError(`id "${id}" is not an NCName`);
      if (ids.has(id)) throw schemaError(`duplicate id "${id}"`);
      ids.add(id);
    }
    for (const k of checkContent(root, NS.pidf, { tuple: "T", note: "N" }, /^T*N*O*$/)) {
      if (k.namespaceURI !== NS.pidf) continue;
      if (k.localName === "note") {
        textOnly(k);
        continue;
      }
      checkAttributes(k, ["id"], ["id"]);
      for (const t of checkContent(k, NS.pidf, { status: "S", contact: "C", note: "N", timestamp: "M" }, /^SO*C?N*M?$/)) {
        if (t.namespaceURI !== NS.pidf) continue;
        if (t.localName === "status") {
          for (const b of checkContent(t, NS.pidf, { basic: "B" }, /^B?O*$/)) {
            if (b.namespaceURI === NS.pidf) {
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
