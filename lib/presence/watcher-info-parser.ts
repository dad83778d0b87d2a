/** Parse `application/watcherinfo+xml` (RFC 3858), e.g. in the browser for the owner's winfo subscription. */
import { childElements, textOf, XML_NAMESPACE, type ParseXmlOptions, type XmlDocument } from "../xml";
import { PresencePayloadError } from "./errors";
import { NS } from "./namespaces";
import { parsePayloadXml } from "./pidf-parser";
import { WATCHER_EVENTS, WATCHER_STATUSES, type Watcher, type WatcherEvent, type WatcherInfo, type WatcherList, type WatcherStatus } from "./watcher-info";

function nonNegative(v: string | null): number | undefined {
  if (v === null || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

/**
 * Throws PresencePayloadError for a wrong root or missing/invalid version/state. Watchers with an
 * unknown status or event are kept with the RFC's closest meaning ("pending" / "subscribe")
 * rather than dropped, so a newer server never hides a watcher from its owner.
 */
export function parseWatcherInfo(input: string | Uint8Array | XmlDocument, options?: ParseXmlOptions): WatcherInfo {
  const root = parsePayloadXml(input, options).documentElement;
  if (root.namespaceURI !== NS.watcherinfo || root.localName !== "watcherinfo") {
    throw new PresencePayloadError("wrong-root", `expected {${NS.watcherinfo}}watcherinfo, got {${root.namespaceURI ?? ""}}${root.localName}`);
  }
  const version = nonNegative(root.getAttribute("version"));
  if (version === undefined) throw new PresencePayloadError("missing-attribute", "watcherinfo has no valid version");
  const state = root.getAttribute("state");
  if (state !== "full" && state !== "partial") throw new PresencePayloadError("invalid-value", `watcherinfo state must be full or partial, got ${state}`);
  const info: WatcherInfo = { version, state, watcherLists: [], extensions: [] };
  for (const l of childElements(root)) {
    if (l.namespaceURI !== NS.watcherinfo || l.localName !== "watcher-list") {
      info.extensions?.push(l);
      continue;
    }
    const list: WatcherList = { resource: l.getAttribute("resource") ?? "", package: l.getAttribute("package") ?? "", watchers: [] };
    for (const w of childElements(l)) {
      if (w.namespaceURI !== NS.watcherinfo || w.localName !== "watcher") continue;
      const status = w.getAttribute("status") as WatcherStatus;
      const event = w.getAttribute("event") as WatcherEvent;
      const watcher: Watcher = {
        uri: textOf(w) ?? "",
        id: w.getAttribute("id") ?? "",
        status: WATCHER_STATUSES.includes(status) ? status : "pending",
        event: WATCHER_EVENTS.includes(event) ? event : "subscribe",
      };
      const dn = w.getAttribute("display-name");
      if (dn) watcher.displayName = dn;
      const dur = nonNegative(w.getAttribute("duration-subscribed"));
      if (dur !== undefined) watcher.durationSubscribed = dur;
      const exp = nonNegative(w.getAttribute("expiration"));
      if (exp !== undefined) watcher.expiration = exp;
      const lang = w.getAttributeNS(XML_NAMESPACE, "lang") || w.getAttribute("xml:lang");
      if (lang) watcher.lang = lang;
      list.watchers.push(watcher);
    }
    info.watcherLists.push(list);
  }
  return info;
}
