/**
 * Strings that live as long as a dialog or subscription. The parser hands out slices of the
 * message text (V8 sliced strings keep the whole message alive), and the same AORs and event
 * names recur in thousands of subscriptions; these helpers keep long-lived state small.
 */

/** V8 copies slices shorter than this (SlicedString::kMinLength), so such strings never pin a parent. */
const MIN_SLICE = 13;

/** A copy of `s` that does not retain the string it was sliced or concatenated from. */
export function detachString(s: string): string {
  return s.length < MIN_SLICE ? s : Buffer.from(s, "utf8").toString("utf8");
}

const INTERN_MAX = 50_000;
let interned = new Map<string, string>();

/**
 * One shared (detached) instance per distinct value — AORs, contact URIs, event names. Bounded:
 * when the table is full it starts over (sharing is lost for old values, nothing else).
 */
export function internString(s: string): string {
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  if (interned.size >= INTERN_MAX) interned = new Map();
  const own = detachString(s);
  interned.set(own, own);
  return own;
}
