/** Compose the RLMI document of an RLS NOTIFY (RFC 4662 §5). */
import { appendElementNS, createXmlDocument, serializeXmlDocument } from "../xml";
import { NS } from "./namespaces";
import type { RlmiList } from "./rlmi";

export function composeRlmi(list: RlmiList): string {
  if (!Number.isInteger(list.version) || list.version < 0 || list.version > 0xffffffff) {
    throw new RangeError(`RLMI version must be an unsigned 32-bit integer, got ${list.version}`);
  }
  const doc = createXmlDocument(NS.rlmi, "list");
  const root = doc.documentElement;
  root.setAttribute("uri", list.uri);
  root.setAttribute("version", String(list.version));
  root.setAttribute("fullState", list.fullState ? "true" : "false");
  if (list.cid) root.setAttribute("cid", list.cid);
  for (const n of list.names) appendElementNS(root, NS.rlmi, "name", { "xml:lang": n.lang }, n.text);
  for (const r of list.resources) {
    const res = appendElementNS(root, NS.rlmi, "resource", { uri: r.uri });
    for (const n of r.names) appendElementNS(res, NS.rlmi, "name", { "xml:lang": n.lang }, n.text);
    for (const i of r.instances) {
      appendElementNS(res, NS.rlmi, "instance", { id: i.id, state: i.state, reason: i.reason, cid: i.cid });
    }
  }
  return serializeXmlDocument(doc);
}
