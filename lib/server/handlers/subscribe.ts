/**
 * SUBSCRIBE (RFC 6665 §4.2): initial SUBSCRIBEs create a subscription in the notifier once the
 * package resolved for it has authorized the subscriber; in-dialog SUBSCRIBEs refresh or end it.
 * Internal subscriptions (RLS back ends) take exactly the same authorization path without SIP.
 * Nothing here knows a package: what differs is the package's policy (`localResource`,
 * `authorize`, `refreshed`, the slot it keeps).
 *
 * A dialog belongs to its watcher: an in-dialog SUBSCRIBE is accepted without a challenge only
 * on the dialog's own connection or one its watcher owns; from anywhere else it is challenged
 * like an out-of-dialog request, and an identity other than the watcher's gets 403.
 */
import { Dialog, SipError, SipResponse, createResponse, dialogIdToString, generateTag, internString, internStrings, type SipConnection, type SipLogger, type SipRequest } from "../../sip";
import { aorOf, canonicalAor, splitAor } from "../aor";
import type { SipAuthenticator } from "../authenticator";
import type { MethodHandler, Outcome } from "../dispatcher";
import type { EventPackage, InternalListener, InternalNotification, InternalSubscription, SubscribeRequestContext } from "../event-package";
import { Subscription, type Notifier } from "../notifier";
import type { PackageRegistry } from "../package-registry";

export interface SubscribeHandlerDeps {
  auth: SipAuthenticator;
  packages: PackageRegistry;
  notifier: Notifier;
  now: () => number;
  log: SipLogger;
}

export class SubscribeHandler {
  constructor(private readonly d: SubscribeHandlerDeps) {}

  readonly handle: MethodHandler = async (request, conn) => {
    // RFC 3261 §8.1.1.3: the From tag is mandatory; a dialog cannot be made without it (§12.1.1)
    if (request.from.tag === undefined) throw new SipError(400, "Missing From tag");
    const ev = request.event;
    if (!ev) throw new SipError(489, "Bad Event", { headers: [["Allow-Events", this.d.packages.allowEvents()]] });
    if (request.to.tag !== undefined) return this.resubscribe(request, conn);
    return this.subscribe(request, conn, ev.value, ev.param("id"));
  };

  private async subscribe(request: SipRequest, conn: SipConnection, event: string, eventId: string | undefined): Promise<Outcome> {
    const { auth, notifier } = this.d;
    const resourceAor = aorOf(request.uri);
    const resource = resourceAor ?? canonicalAor(request.uri.toString());
    const pkg = await this.d.packages.resolve(event, resource, request.supported, request);
    if (!pkg) throw new SipError(489, "Bad Event", { headers: [["Allow-Events", this.d.packages.allowEvents()]] }); // RFC 6665 §4.2.1.1
    const watcherAor = aorOf(request.from.uri);
    if (!watcherAor) throw new SipError(403, "Watcher must be a SIP AOR");
    const id = await auth.authenticate(request, splitAor(watcherAor).domain, auth.proxyChallenge, conn);
    if (id instanceof SipResponse) return { response: id };
    if (id.aor !== watcherAor) throw new SipError(403, "Identity does not match From");
    auth.trustConnection(conn, request, id.aor);
    if (pkg.localResource && (!resourceAor || !(await auth.isLocalPresentity(resourceAor)))) throw new SipError(404, "Not Found");
    const accept = request.accept;
    if (accept.length > 0 && !pkg.acceptTypes.some((t) => accept.includes(t) || accept.includes("*/*") || accept.includes(t.split("/")[0] + "/*"))) {
      throw new SipError(406, "Not Acceptable", { headers: [["Accept", pkg.acceptTypes.join(", ")]] });
    }
    const expires = negotiateExpires(request, pkg);
    if (request.contact.length === 0 || request.contact[0] === "*") throw new SipError(400, "Missing Contact");
    const ctx: SubscribeRequestContext = { event, resource, watcher: { uri: watcherAor, authenticated: true }, supported: request.supported, accept, refresh: false, request };
    const decision = await pkg.authorize(ctx);
    if (decision.rejectWith) {
      pkg.subscriptionRejected?.(ctx, { id: request.callId, displayName: request.from.displayName });
      throw new SipError(decision.rejectWith.status, decision.rejectWith.reason ?? "Forbidden");
    }
    const localTag = generateTag();
    const dialog = Dialog.createUas(request, localTag);
    const now = this.d.now();
    const sub = new Subscription({ id: dialog.idString, event, resource, watcher: watcherAor, createdAt: now, expiresAt: now + expires * 1000, pkg });
    sub.dialog = dialog;
    sub.eventId = eventId;
    const displayName = request.from.displayName;
    if (displayName !== undefined) sub.watcherDisplayName = internString(displayName);
    sub.status = decision.status;
    sub.reason = decision.reason;
    sub.slot = decision.slot;
    // kept for the subscription's life: shared copies, not slices of the SUBSCRIBE's text
    if (accept.length) sub.accept = internStrings(accept);
    if (request.supported.length) sub.supported = internStrings(request.supported);
    sub.connectionId = conn.id;
    const response = createResponse(request, 200, { toTag: localTag, headers: [["Expires", String(expires)], ["Contact", notifier.contactFor(conn)], ...(pkg.extraHeaders?.(sub) ?? [])] });
    return {
      response,
      after: () => {
        notifier.add(sub);
        pkg.subscriptionStarted?.(sub);
        if (decision.status === "terminated") {
          notifier.terminate(sub, decision.reason, true);
        } else if (expires === 0) {
          // RFC 6665 §4.4.3 fetch: one NOTIFY with the state, subscription terminated
          sub.finalBody = sub.status === "active";
          notifier.terminate(sub, "timeout", true);
        } else {
          void notifier.notifyNow(sub); // RFC 6665 §4.2.1.2: immediate NOTIFY
        }
      },
    };
  }

  private async resubscribe(request: SipRequest, conn: SipConnection): Promise<Outcome> {
    const { auth, notifier } = this.d;
    const fromTag = request.from.tag;
    const toTag = request.to.tag;
    if (fromTag === undefined || toTag === undefined) throw new SipError(481, "Subscription does not exist");
    const sub = notifier.get(dialogIdToString({ callId: request.callId, localTag: toTag, remoteTag: fromTag }));
    if (!sub || !sub.dialog || sub.status === "terminated") throw new SipError(481, "Subscription does not exist");
    if (request.event?.value !== sub.event) throw new SipError(489, "Bad Event", { headers: [["Allow-Events", sub.event]] });
    if (sub.connectionId !== conn.id && !conn.isOwnedBy(sub.watcher)) {
      // the dialog belongs to its watcher: from another connection, prove to be the watcher first
      const id = await auth.authenticate(request, splitAor(sub.watcher).domain, auth.proxyChallenge, conn);
      if (id instanceof SipResponse) return { response: id };
      if (id.aor !== sub.watcher) throw new SipError(403, "Not the subscriber of this dialog");
      auth.trustConnection(conn, request, id.aor);
    }
    if (!sub.dialog.receiveRequest(request)) throw new SipError(500, "CSeq out of order"); // RFC 3261 §12.2.2
    const expires = negotiateExpires(request, sub.pkg);
    sub.connectionId = conn.id;
    const response = createResponse(request, 200, { headers: [["Expires", String(expires)], ["Contact", notifier.contactFor(conn)], ...(sub.pkg.extraHeaders?.(sub) ?? [])] });
    if (expires === 0) {
      // RFC 6665 §4.2.1.4: unsubscribe → final NOTIFY
      return { response, after: () => notifier.terminate(sub, "timeout", true) };
    }
    notifier.refresh(sub, this.d.now() + expires * 1000);
    return {
      response,
      after: () => {
        void (async () => {
          try {
            if (await sub.pkg.refreshed?.(sub, request)) return; // the package sent the NOTIFY
          } catch (e) {
            this.d.log("error", "re-authorization on refresh failed", { error: String(e) });
          }
          // RFC 6665 §4.2.1.2: a refresh gets a NOTIFY with the full state
          void notifier.notify(sub, "full");
        })();
      },
    };
  }

  // ---- internal subscriptions (RLS back ends) --------------------------------------------------

  private async internalContext(watcherAor: string, resource: string, event: string): Promise<{ pkg: EventPackage; ctx: SubscribeRequestContext }> {
    const watcher = canonicalAor(watcherAor);
    const target = canonicalAor(resource);
    const pkg = await this.d.packages.resolve(event, target, []);
    if (!pkg) throw new SipError(489, "Bad Event");
    return { pkg, ctx: { event, resource: target, watcher: { uri: watcher, authenticated: true }, supported: [], accept: [], refresh: false } };
  }

  /** Warm the caches an internal subscription of `watcherAor` to `resource` will use (`EventPackage.warm`). */
  async warmInternal(watcherAor: string, resource: string, event: string): Promise<void> {
    const { pkg, ctx } = await this.internalContext(watcherAor, resource, event);
    await pkg.warm?.(ctx);
  }

  /** See `PresenceServer.subscribeInternal`. */
  async subscribeInternal(watcherAor: string, resource: string, listener: InternalListener, event: string): Promise<InternalSubscription> {
    const { notifier } = this.d;
    const { pkg, ctx } = await this.internalContext(watcherAor, resource, event);
    // as for a SIP SUBSCRIBE: a local resource that is no presentity does not exist (404), it is not "pending"
    if (pkg.localResource && !(await this.d.auth.isLocalPresentity(ctx.resource))) throw new SipError(404, "Not Found");
    const decision = await pkg.authorize(ctx);
    const now = this.d.now();
    const sub = new Subscription({ id: notifier.nextInternalId(), event: ctx.event, resource: ctx.resource, watcher: ctx.watcher.uri as string, createdAt: now, expiresAt: Infinity, pkg });
    sub.listener = listener;
    sub.status = decision.status;
    sub.reason = decision.reason;
    sub.slot = decision.slot;
    notifier.add(sub);
    pkg.subscriptionStarted?.(sub);
    await notifier.notify(sub, "full");
    return {
      id: sub.id,
      get current(): InternalNotification {
        return sub.lastInternal ?? { status: sub.status, reason: sub.reason, fullState: true };
      },
      refresh: async () => {
        await pkg.refreshed?.(sub);
        await notifier.notify(sub, "full");
        return sub.lastInternal as InternalNotification;
      },
      close: () => notifier.terminate(sub, "timeout", false),
    };
  }
}

function negotiateExpires(request: SipRequest, pkg: EventPackage): number {
  const asked = request.expires ?? pkg.defaultExpires;
  if (asked > 0 && asked < pkg.minExpires) throw new SipError(423, "Interval Too Brief", { headers: [["Min-Expires", String(pkg.minExpires)]] }); // RFC 6665 §4.2.1.1
  return Math.min(asked, pkg.maxExpires);
}
