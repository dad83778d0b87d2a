/**
 * SIP → XMPP: the event package that takes `presence` SUBSCRIBEs to addresses in the gateway's
 * XMPP domains (plugged into the presence server with `addSubscribeRoute`, as the RLS is).
 *
 * Virtual subscriptions (SylkServer's design): one XMPP subscription per (bare SIP URI of the
 * watcher, bare JID of the contact), shared by every SIP subscription of that watcher to that
 * contact (pages, the RLS back end, any SIP client). It starts with `subscribe`; the `probe` for
 * the contact's current presence follows only once `subscribed` has arrived — Prosody answers a
 * probe from a contact the user has not approved with `unsubscribed` on the user's behalf, which
 * would drop the pending request. Until then the SIP subscriptions are `pending` (RFC 6665
 * §4.1.3); `subscribed` makes them active, `unsubscribed` ends them with `rejected`.
 *
 * XMPP presence per resource becomes one PIDF tuple per resource (presence-mapping.ts); every
 * change NOTIFYs each active SIP subscription in its dialog. Duplicates (a second `subscribed`, a
 * bare-JID `unavailable` while nothing is online) change nothing and send nothing.
 *
 * When the last SIP subscription ends the virtual subscription is forgotten, but the XMPP
 * subscription (the roster item) stays: a page closing must not undo the contact's approval.
 * `unsubscribe` is sent when the watcher removes the contact from their buddy list (gateway.ts).
 */
import { CONTENT_TYPES } from "../presence/namespaces";
import { SipError } from "../sip";
import { splitAor } from "../server/aor";
import type { EventPackage, NotifyBody, SubscribeRequestContext, SubscriptionDecision, SubscriptionView } from "../server/event-package";
import type { Notifier, Subscription } from "../server/notifier";
import { composeXmppPidf, type XmppResourceState } from "./presence-mapping";
import type { PresenceStanza, StatusText } from "./presence-stanza";
import { writePresence } from "./presence-stanza";

const PIDF = CONTENT_TYPES.pidf;

export interface VirtualSubscription {
  readonly key: string;
  /** `sip:` URI of the SIP watcher and its bare JID. */
  readonly watcher: string;
  readonly watcherJid: string;
  /** `sip:` URI of the XMPP contact and its bare JID. */
  readonly contact: string;
  readonly contactJid: string;
  state: "subscribing" | "subscribed" | "refused";
  readonly resources: Map<string, XmppResourceState>;
  offline: StatusText[];
  readonly subs: Set<Subscription>;
  body?: NotifyBody;
}

export interface ContactPackageOptions {
  componentDomain: string;
  notifier: () => Notifier;
  /** Send one stanza to the XMPP server (dropped while offline; `resendAll` catches up). */
  send: (stanza: string) => void;
  now?: () => number;
  defaultExpires?: number;
  minExpires?: number;
  maxExpires?: number;
}

export class XmppContactPackage implements EventPackage {
  readonly name = "presence";
  readonly acceptTypes = [PIDF] as const;
  readonly defaultExpires: number;
  readonly minExpires: number;
  readonly maxExpires: number;
  /** By `watcher\0contact`. */
  readonly virtual = new Map<string, VirtualSubscription>();
  /** XMPP contacts each SIP watcher subscribed to since the start (by watcher): removing one from the buddy list unsubscribes. */
  readonly known = new Map<string, Set<string>>();
  /** Stanzas turned into NOTIFY rounds (benchmark). */
  translated = 0;
  private readonly o: ContactPackageOptions;
  private readonly now: () => number;

  constructor(options: ContactPackageOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.defaultExpires = options.defaultExpires ?? 3600;
    this.minExpires = options.minExpires ?? 60;
    this.maxExpires = options.maxExpires ?? 3600;
  }

  async authorize(ctx: SubscribeRequestContext): Promise<SubscriptionDecision> {
    const watcher = ctx.watcher.uri;
    if (splitAor(watcher).domain !== this.o.componentDomain) {
      // the XMPP server routes stanzas back to the component's domain only
      throw new SipError(403, `Only users of ${this.o.componentDomain} can watch XMPP contacts`);
    }
    return this.virtual.get(key(watcher, ctx.resource))?.state === "subscribed" ? { status: "active" } : { status: "pending" };
  }

  async composeBody(sub: SubscriptionView): Promise<NotifyBody | undefined> {
    return this.composeBodyNow(sub);
  }

  composeBodyNow(sub: SubscriptionView): NotifyBody | undefined {
    const vs = this.virtual.get(key(sub.watcher, sub.resource));
    if (!vs) return { contentType: PIDF, body: Buffer.from(composeXmppPidf(sub.resource, sub.resource.replace(/^sip:/, ""), new Map(), [], new Date(this.now()))) };
    vs.body ??= { contentType: PIDF, body: Buffer.from(composeXmppPidf(vs.contact, vs.contactJid, vs.resources, vs.offline, new Date(this.now()))) };
    return vs.body;
  }

  subscriptionStarted(sub: SubscriptionView): void {
    this.adopt(sub as Subscription);
  }

  /** Count a SIP subscription (new, or restored after a restart) in its virtual subscription. */
  adopt(sub: Subscription): void {
    const k = key(sub.watcher, sub.resource);
    let vs = this.virtual.get(k);
    if (!vs) {
      const watcherJid = sub.watcher.replace(/^sips?:/, "");
      const contactJid = sub.resource.replace(/^sips?:/, "");
      vs = { key: k, watcher: sub.watcher, watcherJid, contact: sub.resource, contactJid, state: "subscribing", resources: new Map(), offline: [], subs: new Set() };
      this.virtual.set(k, vs);
      this.o.send(writePresence({ from: watcherJid, to: contactJid, type: "subscribe", statuses: [] }));
    } else if (vs.state === "refused") {
      // a new SIP subscription after a refusal asks again (the contact may have changed their mind)
      vs.state = "subscribing";
      this.o.send(writePresence({ from: vs.watcherJid, to: vs.contactJid, type: "subscribe", statuses: [] }));
    }
    vs.subs.add(sub);
    let known = this.known.get(sub.watcher);
    if (!known) this.known.set(sub.watcher, (known = new Set()));
    known.add(sub.resource);
  }

  /** The watcher no longer wants the contact (removed from the buddy list): XMPP `unsubscribe` (RFC 6121 §3.3). */
  unsubscribe(watcher: string, contact: string): void {
    this.known.get(watcher)?.delete(contact);
    const vs = this.virtual.get(key(watcher, contact));
    if (vs) {
      // a SIP subscription still running asks again (subscribe) as after a refusal
      vs.state = "refused";
      vs.resources.clear();
      vs.body = undefined;
    }
    this.o.send(writePresence({ from: watcher.replace(/^sips?:/, ""), to: contact.replace(/^sips?:/, ""), type: "unsubscribe", statuses: [] }));
  }

  subscriptionEnded(sub: SubscriptionView): void {
    const k = key(sub.watcher, sub.resource);
    const vs = this.virtual.get(k);
    if (!vs) return;
    vs.subs.delete(sub as Subscription);
    if (vs.subs.size === 0) this.virtual.delete(k);
  }

  /** After (re)connecting to the XMPP server: ask again (subscribe) or for the current state (probe). */
  resendAll(): void {
    for (const vs of this.virtual.values()) {
      if (vs.state === "subscribed") this.o.send(writePresence({ from: vs.watcherJid, to: vs.contactJid, type: "probe", statuses: [] }));
      else if (vs.state === "subscribing") this.o.send(writePresence({ from: vs.watcherJid, to: vs.contactJid, type: "subscribe", statuses: [] }));
    }
  }

  /** A stanza from a contact (`from`) to a SIP watcher (`to`): subscribed, unsubscribed, available, unavailable. */
  onContactPresence(p: PresenceStanza, fromJid: string, fromResource: string | undefined, toJid: string): void {
    const vs = this.virtual.get(key(`sip:${toJid}`, `sip:${fromJid}`));
    if (!vs) return;
    const notifier = this.o.notifier();
    switch (p.type) {
      case "subscribed":
        if (vs.state === "subscribed") return; // duplicate
        vs.state = "subscribed";
        this.o.send(writePresence({ from: vs.watcherJid, to: vs.contactJid, type: "probe", statuses: [] }));
        for (const s of [...vs.subs]) if (s.status !== "active") notifier.setStatus(s, "active");
        return;
      case "unsubscribed":
        vs.state = "refused";
        vs.resources.clear();
        vs.body = undefined;
        for (const s of [...vs.subs]) notifier.setStatus(s, "terminated", "rejected");
        return;
      case undefined:
      case "unavailable": {
        if (!this.update(vs, p, fromResource)) return;
        vs.body = undefined;
        this.translated++;
        for (const s of vs.subs) if (s.status === "active") void notifier.notify(s, "full");
        return;
      }
      default:
        return;
    }
  }

  /** Apply an available/unavailable stanza; false when nothing a watcher sees changed. */
  private update(vs: VirtualSubscription, p: PresenceStanza, resource: string | undefined): boolean {
    if (p.type === "unavailable") {
      const offline = p.statuses;
      if (resource === undefined) {
        // bare JID: every resource is gone (Prosody also sends it to acknowledge a subscribe)
        if (vs.resources.size === 0 && sameStatuses(vs.offline, offline)) return false;
        vs.resources.clear();
      } else {
        if (!vs.resources.delete(resource) && sameStatuses(vs.offline, offline)) return false;
      }
      if (vs.resources.size === 0) vs.offline = offline;
      return true;
    }
    const name = resource ?? "";
    const cur = vs.resources.get(name);
    const priority = p.priority ?? 0;
    if (cur && cur.show === p.show && cur.priority === priority && sameStatuses(cur.statuses, p.statuses)) return false;
    vs.resources.set(name, { show: p.show, statuses: p.statuses, priority, since: new Date(this.now()).toISOString() });
    return true;
  }
}

function key(watcher: string, contact: string): string {
  return `${watcher}\u0000${contact}`;
}

function sameStatuses(a: readonly StatusText[], b: readonly StatusText[]): boolean {
  return a.length === b.length && a.every((s, i) => s.text === b[i].text && s.lang === b[i].lang);
}
