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

const NO_STRINGS: readonly string[] = Object.freeze([]);
let internedLists = new Map<string, readonly string[]>();

/**
 * One shared frozen instance per distinct list of strings (a SUBSCRIBE's Accept or Supported
 * values: a handful of lists recur in every subscription). Bounded like `internString`.
 */
export function internStrings(list: readonly string[]): readonly string[] {
  if (list.length === 0) return NO_STRINGS;
  const key = list.length === 1 ? list[0] : list.join("\n");
  const hit = internedLists.get(key);
  if (hit !== undefined && hit.length === list.length && hit.every((s, i) => s === list[i])) return hit;
  if (internedLists.size >= INTERN_MAX) internedLists = new Map();
  const own = Object.freeze(list.map(internString));
  internedLists.set(list.length === 1 ? own[0] : detachString(key), own);
  return own;
}
