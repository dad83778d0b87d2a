/**
 * OMA pres-content icon URL hash tags.
 *
 * A CIPID `<icon>` points at the user's pres-content document on the XCAP server
 * (`.../org.openmobilealliance.pres-content/users/<xui>/oma_status-icon/index`). The URL does not
 * change when the icon does, so publishers append a fragment carrying a hash of the image:
 * Blink writes `#blink-icon<sha1-hex>` and compares that hash with the one it cached, fetching
 * the icon only when it differs. Herald uses the same form so Blink users benefit too.
 */
import { sha1 } from "./sha1";

export const ICON_HASH_PREFIX = "blink-icon";

export interface IconHashOptions {
  /** Fragment prefix (default "blink-icon", Blink's). */
  prefix?: string;
  /** Number of hex digits of the SHA-1 to keep (default all 40). */
  length?: number;
}

/** The fragment (without "#") for an icon's bytes: `blink-icon<sha1-hex>`. */
export function iconHashTag(data: Uint8Array | string, options: IconHashOptions = {}): string {
  const hex = sha1(data).slice(0, Math.max(1, Math.min(40, options.length ?? 40)));
  return `${options.prefix ?? ICON_HASH_PREFIX}${hex}`;
}

/** `url` with its fragment replaced by the icon hash tag. */
export function iconUrlWithHash(url: string, data: Uint8Array | string, options: IconHashOptions = {}): string {
  const base = url.split("#", 1)[0];
  return `${base}#${iconHashTag(data, options)}`;
}
