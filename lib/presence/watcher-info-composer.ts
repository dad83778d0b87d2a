/** Compose `application/watcherinfo+xml` (RFC 3858 §4). */
import { appendElementNS, createXmlDocument, serializeXmlDocument } from "../xml";
import { NS } from "./namespaces";
import type { WatcherInfo } from "./watcher-info";

export function composeWatcherInfo(info: WatcherInfo): string {
  if (!Number.isInteger(info.version) || info.version < 0) throw new RangeError(`watcherinfo version must be a non-negative integer, got ${info.version}`);
  const doc = createXmlDocument(NS.watcherinfo, "watcherinfo");
  const root = doc.documentElement;
  root.setAttribute("version", String(info.version));
  root.setAttribute("state", info.state);
  for (const list of info.watcherLists) {
    const l = appendElementNS(root, NS.watcherinfo, "watcher-list", { resource: list.resource, package: list.package });
    for (const w of list.watchers) {
      appendElementNS(
        l,
        NS.watcherinfo,
        "watcher",
        {
          id: w.id,
          status: w.status,
          event: w.event,
          "display-name": w.displayName,
          "duration-subscribed": w.durationSubscribed === undefined ? undefined : Math.max(0, Math.trunc(w.durationSubscribed)),
          // xs:unsignedLong: a subscription without an end (the RLS's internal ones) has none to give
          expiration: w.expiration === undefined || !Number.isFinite(w.expiration) ? undefined : Math.max(0, Math.trunc(w.expiration)),
          "xml:lang": w.lang,
        },
        w.uri,
      );
    }
  }
  return serializeXmlDocument(doc);
}
