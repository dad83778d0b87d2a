"use client";
/**
 * What tells the user something happened while they looked elsewhere: the document title and
 * the favicon carry the number of contact requests, and — once the user allowed it with a click —
 * desktop notifications for new requests and, if chosen, for contacts coming online.
 */
import { useCallback, useEffect, useRef, useState } from "react";

const BASE_TITLE = "Buddy list — Herald";
const SETTINGS_KEY = "herald.notifications";

export interface AttentionSettings {
  /** Also notify when a contact comes online (requests are always notified once permitted). */
  online: boolean;
}

/** "(2) Buddy list — Herald" with two requests. */
export function titleFor(requests: number, base = BASE_TITLE): string {
  return requests > 0 ? `(${requests}) ${base}` : base;
}

/** The favicon with a red count badge (an SVG data URL; "9+" above nine). */
export function badgedFaviconUrl(count: number): string {
  const text = count > 9 ? "9+" : String(count);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">` +
    `<rect x="2" y="2" width="28" height="28" rx="7" fill="#1d4ed8"/>` +
    `<text x="9" y="22" font-family="Arial,sans-serif" font-size="17" font-weight="700" fill="#fff">H</text>` +
    `<circle cx="23" cy="9" r="9" fill="#b91c1c"/>` +
    `<text x="23" y="13" text-anchor="middle" font-family="Arial,sans-serif" font-size="${text.length > 1 ? 10 : 13}" font-weight="700" fill="#fff">${text}</text>` +
    `</svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

const BADGE_ID = "herald-badge-icon";

/** Title and favicon follow the request count; both go back to normal on unmount. */
export function useRequestBadge(count: number): void {
  useEffect(() => {
    // Next.js writes the page's metadata title when its head arrives, possibly after a count that
    // was known early (unread messages fetched at load): put ours back whenever the head changes
    const want = titleFor(count);
    document.title = want;
    const observer = new MutationObserver(() => {
      if (document.title !== want) document.title = want;
    });
    observer.observe(document.head, { subtree: true, childList: true, characterData: true });
    return () => observer.disconnect();
  }, [count]);
  useEffect(() => {
    let link = document.getElementById(BADGE_ID) as HTMLLinkElement | null;
    if (count > 0) {
      if (!link) {
        link = document.createElement("link");
        link.id = BADGE_ID;
        link.rel = "icon";
        link.type = "image/svg+xml";
        document.head.appendChild(link);
      }
      link.href = badgedFaviconUrl(count);
    } else link?.remove();
  }, [count]);
  useEffect(
    () => () => {
      document.getElementById(BADGE_ID)?.remove();
    },
    [],
  );
}

function readSettings(): AttentionSettings {
  try {
    const v = JSON.parse(window.localStorage.getItem(SETTINGS_KEY) ?? "{}") as Partial<AttentionSettings>;
    return { online: v.online === true };
  } catch {
    return { online: false };
  }
}

export type Permission = "default" | "granted" | "denied" | "unsupported";

function permissionNow(): Permission {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

/** Desktop notification settings and the function that shows one (a no-op without permission). */
export function useDesktopNotifications() {
  const [permission, setPermission] = useState<Permission>("default");
  const [settings, setSettings] = useState<AttentionSettings>({ online: false });
  useEffect(() => {
    setPermission(permissionNow());
    setSettings(readSettings());
  }, []);

  /** Ask for permission: call from a click (browsers refuse a request made without one). */
  const enable = useCallback(async () => {
    if (typeof Notification === "undefined") return;
    setPermission(await Notification.requestPermission());
  }, []);

  const setOnline = useCallback((online: boolean) => {
    setSettings({ online });
    try {
      window.localStorage.setItem(SETTINGS_KEY, JSON.stringify({ online }));
    } catch {
      // not kept
    }
  }, []);

  /** `onClick`: what clicking it does besides focusing the tab (a message opens its conversation). */
  const notify = useCallback((title: string, body: string, tag: string, onClick?: () => void) => {
    if (permissionNow() !== "granted") return;
    try {
      const n = new Notification(title, { body, tag, icon: "/icon.svg" });
      n.onclick = () => {
        window.focus();
        n.close();
        onClick?.();
      };
    } catch {
      // some mobile browsers only notify through a service worker: the badge still shows
    }
  }, []);

  return { permission, settings, enable, setOnline, notify };
}

/**
 * Calls `onNew` for each key that appears after the first non-empty observation (what was there
 * when the page loaded is not news).
 */
export function useNewKeys(keys: readonly string[], ready: boolean, onNew: (key: string) => void): void {
  const seen = useRef<Set<string> | null>(null);
  const cb = useRef(onNew);
  cb.current = onNew;
  const joined = keys.join("\n");
  useEffect(() => {
    if (!ready) return;
    const now = new Set(joined ? joined.split("\n") : []);
    if (seen.current === null) {
      seen.current = now;
      return;
    }
    for (const k of now) if (!seen.current.has(k)) cb.current(k);
    seen.current = now;
  }, [joined, ready]);
}

/**
 * Calls `onNew` once per key in this browser: a request is notified when first seen, whether it
 * arrived while the page was open or while the user was away; `storageKey` remembers which were.
 */
export function useOncePerKey(keys: readonly string[], storageKey: string, onNew: (key: string) => void): void {
  const cb = useRef(onNew);
  cb.current = onNew;
  const joined = keys.join("\n");
  useEffect(() => {
    if (!joined) return;
    let done: string[] = [];
    try {
      done = JSON.parse(window.localStorage.getItem(storageKey) ?? "[]") as string[];
    } catch {
      done = [];
    }
    const fresh = joined.split("\n").filter((k) => !done.includes(k));
    if (!fresh.length) return;
    for (const k of fresh) cb.current(k);
    try {
      // only the current requests are kept: one answered and made again is news again
      window.localStorage.setItem(storageKey, JSON.stringify(joined.split("\n")));
    } catch {
      // not kept: notified again after a reload
    }
  }, [joined, storageKey]);
}
