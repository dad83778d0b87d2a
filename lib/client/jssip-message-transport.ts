/**
 * MESSAGE over JsSIP for the InstantMessenger: `ua.sendMessage` out (its final response status;
 * 0 when there was none), `newMessage` in (JsSIP answers 200 itself). The UA is attached when the
 * client creates it and may be replaced; messages sent with no UA fail at once.
 */
import { CONTENT_TYPES } from "../presence/namespaces";
import type { UA } from "jssip";
import type { IncomingMessageEvent, OutgoingMessageEvent } from "jssip/lib/UA";
import type { IncomingIm, MessageTransport } from "./instant-messenger";

export class JsSipMessageTransport implements MessageTransport {
  private ua?: UA;
  private readonly listeners = new Set<(m: IncomingIm) => void>();

  attach(ua: UA): void {
    this.ua = ua;
    ua.on("newMessage", (e: IncomingMessageEvent | OutgoingMessageEvent) => {
      if (e.originator !== "remote") return;
      const r = e.request;
      const date = Date.parse(r.getHeader("Date") ?? "");
      const m: IncomingIm = { from: r.from.uri.toAor(), contentType: r.getHeader("Content-Type") ?? CONTENT_TYPES.text, body: r.body ?? "" };
      if (Number.isFinite(date)) m.date = date;
      for (const l of [...this.listeners]) l(m);
    });
  }

  send(target: string, body: string, contentType: string): Promise<{ status: number }> {
    const ua = this.ua;
    if (!ua) return Promise.resolve({ status: 0 });
    return new Promise((resolve) => {
      ua.sendMessage(target, body, {
        contentType,
        eventHandlers: {
          succeeded: (e) => resolve({ status: (e as { response?: { status_code?: number } }).response?.status_code ?? 200 }),
          failed: (e) => resolve({ status: e.response?.status_code ?? 0 }),
        },
      });
    });
  }

  onMessage(listener: (m: IncomingIm) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
