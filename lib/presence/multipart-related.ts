/** Types of multipart/related bodies (RFC 2387) as used by RFC 4662 RLS NOTIFYs. */
import type { MediaType } from "./media-type";
import type { RlmiList } from "./rlmi";

export interface MimePart {
  /** Header values by lower-cased name. */
  headers: Map<string, string>;
  /** The Content-Type header value ("text/plain" when absent, RFC 2045 default). */
  contentType: string;
  mediaType: MediaType;
  /** Content-ID without the angle brackets. */
  contentId?: string;
  /** Decoded body (base64 transfer encoding undone; binary/8bit/7bit as is). */
  body: Uint8Array;
  /** Parsed nested multipart/related (a nested list in RLS). */
  multipart?: MultipartRelated;
}

export interface MultipartRelated {
  boundary: string;
  /** The `type` parameter (root's media type), lower-cased. */
  type?: string;
  /** The `start` parameter, without angle brackets. */
  start?: string;
  /** The root part: the one named by `start`, else the first. */
  root: MimePart;
  /** Parsed RLMI when the root is application/rlmi+xml. */
  rlmi?: RlmiList;
  /** Every part in order (root included). */
  parts: MimePart[];
  /** Parts by Content-ID (without angle brackets). */
  byContentId: Map<string, MimePart>;
}

/** Text of a part (UTF-8). */
export function partText(part: MimePart): string {
  return new TextDecoder().decode(part.body);
}
