/** Parse an RLMI document (RFC 4662 §5). */
import { childElements, type ParseXmlOptions, type XmlDocument } from "../xml";
import { PresencePayloadError } from "./errors";
import { NS } from "./namespaces";
import { noteOf, parsePayloadXml } from "./pidf-parser";
import type { InstanceState, RlmiInstance, RlmiList, RlmiResource } from "./rlmi";

const STATES: readonly InstanceState[] = ["active", "pending", "terminated"];

/** Throws PresencePayloadError (wrong root, missing uri/version/fullState, bad instance state). */
export function parseRlmi(input: string | Uint8Array | XmlDocument, options?: ParseXmlOptions): RlmiList {
  const root = parsePayloadXml(input, options).documentElement;
  if (root.namespaceURI !== NS.rlmi || root.localName !== "list") {
    throw new PresencePayloadError("wrong-root", `expected {${NS.rlmi}}list, got {${root.namespaceURI ?? ""}}${root.localName}`);
  }
  const uri = root.getAttribute("uri");
  if (!uri) throw new PresencePayloadError("missing-attribute", "RLMI list has no uri");
  const versionText = root.getAttribute("version") ?? "";
  if (!/^\d+$/.test(versionText)) throw new PresencePayloadError("missing-attribute", "RLMI list has no valid version");
  const fullStateText = root.getAttribute("fullState");
  if (fullStateText !== "true" && fullStateText !== "false" && fullStateText !== "1" && fullStateText !== "0") {
    throw new PresencePayloadError("missing-attribute", "RLMI list has no valid fullState");
  }
  const list: RlmiList = { uri, version: Number(versionText), fullState: fullStateText === "true" || fullStateText === "1", names: [], resources: [] };
  const cid = root.getAttribute("cid");
  if (cid) list.cid = cid;
  for (const c of childElements(root)) {
    if (c.namespaceURI !== NS.rlmi) continue;
    if (c.localName === "name") list.names.push(noteOf(c));
    else if (c.localName === "resource") {
      const r: RlmiResource = { uri: c.getAttribute("uri") ?? "", names: [], instances: [] };
      for (const x of childElements(c)) {
        if (x.namespaceURI !== NS.rlmi) continue;
        if (x.localName === "name") r.names.push(noteOf(x));
        else if (x.localName === "instance") {
          const state = x.getAttribute("state") as InstanceState;
          if (!STATES.includes(state)) throw new PresencePayloadError("invalid-value", `RLMI instance state ${state}`);
          const i: RlmiInstance = { id: x.getAttribute("id") ?? "", state };
          const reason = x.getAttribute("reason");
          const icid = x.getAttribute("cid");
          if (reason) i.reason = reason;
          if (icid) i.cid = icid;
          r.instances.push(i);
        }
      }
      list.resources.push(r);
    }
  }
  return list;
}
