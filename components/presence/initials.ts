/**
 * Initials and avatar colour for a name in any script. Initials are whole graphemes
 * (Intl.Segmenter), so an emoji or a letter with combining marks is never cut in half — a cut
 * surrogate pair renders differently on the server and in the browser (React error #418).
 * Punctuation and symbols are skipped; a name with no letters at all keeps its first grapheme.
 */

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
const LETTER = /[\p{L}\p{N}]/u;
/** Scripts whose one character is a whole syllable or word: one initial fills the circle. */
const WIDE = /[\p{Script=Han}\p{Script=Hangul}\p{Script=Hiragana}\p{Script=Katakana}]/u;

/** The user-perceived characters of `s` (one shared segmenter: building one is costly). */
export function graphemes(s: string): string[] {
  // printable ASCII has no multi-unit graphemes: skip the segmenter (most names, most of the cost)
  if (/^[\x20-\x7e]*$/.test(s)) return s.split("");
  return Array.from(segmenter.segment(s), (x) => x.segment);
}

/** The part of an address or name that names a person: "sip:bob.smith@x" → "bob.smith". */
function personPart(name: string): string {
  return name.replace(/^sips?:/i, "").replace(/@.*$/, "").trim();
}

/** Segmenting is the costly part of a row's first render: each name is worked out once (bounded). */
const known = new Map<string, string>();
const KNOWN_MAX = 5000;

export function initialsOf(name: string): string {
  let v = known.get(name);
  if (v === undefined) {
    if (known.size >= KNOWN_MAX) known.clear();
    known.set(name, (v = computeInitials(name)));
  }
  return v;
}

function computeInitials(name: string): string {
  const clean = personPart(name);
  const words = clean
    .split(/[\s._\-–—,;:/\\|()[\]{}"'“”‘’«»<>+&*#!?]+/u)
    .map((w) => graphemes(w).filter((g) => LETTER.test(g)))
    .filter((w) => w.length > 0);
  let out: string[];
  if (words.length > 1) out = [words[0]![0]!, words[words.length - 1]![0]!];
  else if (words.length === 1) out = WIDE.test(words[0]![0]!) ? [words[0]![0]!] : words[0]!.slice(0, 2);
  else out = graphemes(clean).slice(0, 1);
  return out.join("").toLocaleUpperCase() || "?";
}

/**
 * Background/text pairs with at least 4.5:1 contrast; the dark theme inverts the palette
 * (globals.css), which keeps the ratio. Full class names so Tailwind generates them.
 */
export const AVATAR_COLOURS = [
  "bg-sky-200 text-sky-950",
  "bg-emerald-200 text-emerald-950",
  "bg-violet-200 text-violet-950",
  "bg-rose-200 text-rose-950",
  "bg-amber-200 text-amber-950",
  "bg-teal-200 text-teal-950",
  "bg-indigo-200 text-indigo-950",
  "bg-fuchsia-200 text-fuchsia-950",
  "bg-lime-200 text-lime-950",
  "bg-orange-200 text-orange-950",
] as const;

/** A stable colour for a contact (FNV-1a of its key, usually the address). */
export function avatarColour(key: string): string {
  let h = 0x811c9dc5;
  const k = key.replace(/^sips?:/i, "").trim().toLowerCase();
  for (let i = 0; i < k.length; i++) {
    h ^= k.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return AVATAR_COLOURS[(h >>> 0) % AVATAR_COLOURS.length]!;
}
