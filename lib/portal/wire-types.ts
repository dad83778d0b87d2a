/**
 * Types that cross from the server to the page (server action results, the page's SIP
 * credentials). Client components import them from here: this module imports nothing, so no
 * server code can reach a client bundle through it.
 */

/** What every server action returns: data, or a message the user can act on and a stable code. */
export type ActionResult<T = null> = { ok: true; data: T } | { ok: false; error: string; code: string };

/** Short-lived SIP credentials the page's SIP client registers with (autheph scheme). */
export interface PageSipCredentials {
  /** Path of the WebSocket bridge on the portal's host. */
  wsPath: string;
  aor: string;
  authorizationUser: string;
  password: string;
  displayName: string | null;
  realm: string;
  expires: number;
}

/** What My Presence shows from the user's XCAP documents (lib/portal/my-presence.ts loads it). */
export interface MyPresenceDocuments {
  /** The offline note (pidf-manipulation) and whether that document exists. */
  offline: { note: string | null; set: boolean };
  /** The stored icon as a data: URL for the preview, and the URL the browser publishes in PIDF; null without one. */
  iconDataUrl: string | null;
  iconPublishedUrl: string | null;
  /** pres-rules: what happens to someone not in the rules, and who is blocked. */
  defaultPolicy: "allow" | "confirm" | "block" | "polite-block";
  blocked: string[];
  /** Address → the name the user gave it (contacts, then policies). */
  names: Record<string, string>;
  /** im-rules; "custom" when another program wrote rules Herald does not summarise; null where im-rules are not served. */
  imPolicy: "everyone" | "contacts" | "nobody" | "custom" | null;
}

/** A department list the buddy list offers to add as a group (lib/portal/department-list-groups). */
export interface DepartmentListOffer {
  /** user@domain */
  address: string;
  name: string;
  members: number;
}
