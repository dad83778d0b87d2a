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

/** A department list the buddy list offers to add as a group (lib/portal/department-list-groups). */
export interface DepartmentListOffer {
  /** user@domain */
  address: string;
  name: string;
  members: number;
}
