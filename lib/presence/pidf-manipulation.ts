/**
 * pidf-manipulation (RFC 4827): the presence document a user stores on the XCAP server
 * (auid `pidf-manipulation`, document `index`). It is plain PIDF; Blink uses it for its
 * "offline status" (a closed tuple with a note). How the presence agent merges it is defined in
 * presence-composition.ts.
 */
import type { ParseXmlOptions, XmlDocument } from "../xml";
import { parsePidf } from "./pidf-parser";
import type { PresenceDocument } from "./presence-document";

/** Parse a pidf-manipulation document (same format as PIDF). */
export function parsePidfManipulation(input: string | Uint8Array | XmlDocument, options?: ParseXmlOptions): PresenceDocument {
  return parsePidf(input, options);
}
