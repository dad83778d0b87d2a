import type { SipConnection } from "@/lib/sip/connection";

/** Send `chunk` on `conn` until the connection is closed or `bound` bytes went; the bytes sent. */
export function sendUntilClosed(conn: SipConnection, chunk: Buffer, bound: number): number {
  let sent = 0;
  while (!conn.closed && sent < bound) {
    conn.send(chunk);
    sent += chunk.length;
  }
  return sent;
}
