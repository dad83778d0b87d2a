/** An XMPP link without an XMPP server: records what the gateway sends, delivers stanzas it is given. */
import { EventEmitter } from "node:events";
import type { XmppLink } from "@/lib/xmpp/gateway";
import { readPresence, type ElementLike, type PresenceStanza } from "@/lib/xmpp/presence-stanza";

export class FakeXmppLink extends EventEmitter implements XmppLink {
  online = true;
  readonly sent: string[] = [];

  send(stanza: string): void {
    this.sent.push(stanza);
  }

  /** Deliver a presence stanza as the XMPP server would. */
  deliver(p: Partial<PresenceStanza> & { from: string; to: string }): void {
    this.emit("presence", { statuses: [], ...p });
  }

  /** Deliver from an element tree (as @xmpp/component parses it). */
  deliverElement(el: ElementLike): void {
    const p = readPresence(el);
    if (p) this.emit("presence", p);
  }

  /** Sent stanzas matching `re`. */
  matching(re: RegExp): string[] {
    return this.sent.filter((s) => re.test(s));
  }

  goOnline(): void {
    this.online = true;
    this.emit("online");
  }
}
