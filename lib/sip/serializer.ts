/** Serializer: typed message → wire bytes. Content-Length is always recomputed with the body's byte length. */
import { JOINED_HEADERS } from "./header-names";
import type { SipMessage } from "./message";

/** Serialize a message. Content-Length is written from `body.length` (bytes) wherever the header stood, or last. */
export function serializeMessage(msg: SipMessage): Buffer {
  let head = msg.startLine() + "\r\n";
  let wroteLength = false;
  const headers = msg.headers;
  const bodyLength = msg.body.length;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    const lower = h.name.toLowerCase();
    if (lower === "content-length") {
      if (!wroteLength) head += `Content-Length: ${bodyLength}\r\n`;
      wroteLength = true;
      continue;
    }
    if (JOINED_HEADERS.has(lower)) {
      // Token lists go out as one comma-joined line (consecutive entries of the same name).
      let value = h.value;
      while (i + 1 < headers.length && headers[i + 1].name === h.name) value += ", " + headers[++i].value;
      head += `${h.name}: ${value}\r\n`;
      continue;
    }
    head += `${h.name}: ${h.value}\r\n`;
  }
  if (!wroteLength) head += `Content-Length: ${bodyLength}\r\n`;
  head += "\r\n";
  if (bodyLength === 0) return Buffer.from(head, "utf8");
  const headLen = Buffer.byteLength(head, "utf8");
  const out = Buffer.allocUnsafe(headLen + bodyLength);
  out.write(head, 0, "utf8");
  msg.body.copy(out, headLen);
  return out;
}
