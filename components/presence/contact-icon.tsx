"use client";
/**
 * A contact's picture from the icon URL they publish (CIPID `icon`), initials until it loaded or
 * when there is none. The URL usually points at an OMA pres-content document (XML with base64
 * data, Blink's layout), sometimes at a plain image; both are handled. The `#blink-icon<sha1>`
 * fragment is part of the cache key, so a changed picture is fetched again and an unchanged one
 * is not.
 */
import { useEffect, useState } from "react";
import { NS } from "@/lib/presence/namespaces";
import { avatarColour, initialsOf } from "./initials";

/** Where the portal's own XCAP root is, so icons stored there are fetched same-origin. */
export interface XcapLocation {
  /** Public XCAP root written into documents, e.g. "https://herald.example.com/xcap-root". */
  publicRoot: string;
  /** Same-origin path of the embedded XCAP root ("/xcap-root"), null with an external XCAP server. */
  localPath: string | null;
  /** False when the portal does not know its public URL (PUBLIC_URL unset): the page's origin is the better guess. */
  publicUrlKnown: boolean;
}

/** The URL to fetch for a published icon URL (fragment dropped, own XCAP root made same-origin). */
export function fetchableIconUrl(url: string, xcap: XcapLocation | null): string {
  const base = url.split("#", 1)[0]!;
  if (xcap?.localPath && base.startsWith(xcap.publicRoot + "/")) return xcap.localPath + base.slice(xcap.publicRoot.length);
  return base;
}

/** The icon URL to publish: the server's, or with the page's origin when the server cannot know it. */
export function publishableIconUrl(url: string, xcap: XcapLocation): string {
  if (xcap.publicUrlKnown || !xcap.localPath || !url.startsWith(xcap.publicRoot + "/")) return url;
  return `${window.location.origin}${xcap.localPath}${url.slice(xcap.publicRoot.length)}`;
}

const cache = new Map<string, Promise<string | null>>();

async function loadIcon(fetchUrl: string): Promise<string | null> {
  const res = await fetch(fetchUrl, { credentials: "same-origin" });
  if (!res.ok) return null;
  const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type.startsWith("image/")) return URL.createObjectURL(await res.blob());
  const doc = new DOMParser().parseFromString(await res.text(), "application/xml");
  const ns = NS.presContent;
  const mime = doc.getElementsByTagNameNS(ns, "mime-type")[0]?.textContent?.trim().toLowerCase();
  const data = doc.getElementsByTagNameNS(ns, "data")[0]?.textContent?.replace(/\s+/g, "");
  if (!mime || !data || !/^image\/(png|jpeg|gif)$/.test(mime) || !/^[A-Za-z0-9+/]+=*$/.test(data)) return null;
  return `data:${mime};base64,${data}`;
}

function iconFor(url: string, xcap: XcapLocation | null): Promise<string | null> {
  let p = cache.get(url);
  if (!p) {
    p = loadIcon(fetchableIconUrl(url, xcap)).catch(() => null);
    cache.set(url, p);
  }
  return p;
}

export function ContactIcon({
  name,
  url,
  xcap,
  size = 40,
  src,
  colourKey,
  dimmed = false,
}: {
  name: string;
  /** What the initials' colour is derived from (the contact's address); default the name. */
  colourKey?: string;
  /** Offline: a picture stays, greyed (initials keep their colour: the status marker says offline). */
  dimmed?: boolean;
  url?: string | null;
  xcap: XcapLocation | null;
  size?: number;
  /** An already known picture (data: URL), skipping the fetch. */
  src?: string | null;
}) {
  const [loaded, setLoaded] = useState<{ url: string; src: string | null } | null>(null);
  useEffect(() => {
    if (!url || src) return;
    let live = true;
    void iconFor(url, xcap).then((s) => {
      if (live) setLoaded({ url, src: s });
    });
    return () => {
      live = false;
    };
  }, [url, xcap, src]);
  const picture = src ?? (loaded && loaded.url === url ? loaded.src : null);
  const style = { width: size, height: size };
  const dim = dimmed ? "opacity-60 grayscale" : "";
  if (picture) {
    return <img src={picture} alt={`Picture of ${name}`} style={style} data-dimmed={dimmed || undefined} className={`shrink-0 rounded-full object-cover ring-1 ring-slate-200 ${dim}`} />;
  }
  return (
    <span
      role="img"
      aria-label={`${name} (no picture)`}
      style={style}
      data-dimmed={dimmed || undefined}
      className={`inline-flex shrink-0 select-none items-center justify-center overflow-hidden rounded-full text-sm font-semibold ${avatarColour(colourKey ?? name)}`}
    >
      <span aria-hidden="true">{initialsOf(name)}</span>
    </span>
  );
}
