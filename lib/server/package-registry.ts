/**
 * Which event package serves a subscription: routes first (packages for resources of their own,
 * e.g. the RLS for service URIs), then the package registered for the Event token.
 */
import type { SipRequest } from "../sip";
import type { EventPackage } from "./event-package";

/**
 * Where a SUBSCRIBE goes when it is not for a local presentity (RLS service URIs, ...). May be
 * asynchronous (the RLS looks service URIs up in the XCAP store). `request` is absent for
 * internal subscriptions and for persisted subscriptions being restored.
 */
export type SubscribeRoute = (ctx: { event: string; resource: string; supported: readonly string[]; request?: SipRequest }) => EventPackage | undefined | Promise<EventPackage | undefined>;

export class PackageRegistry {
  private readonly byEvent = new Map<string, EventPackage>();
  private readonly routes: SubscribeRoute[] = [];

  /** Serve `pkg.name` with `pkg` (one package per Event token). */
  add(pkg: EventPackage): void {
    if (this.byEvent.has(pkg.name)) throw new Error(`event package ${pkg.name} is registered already`);
    this.byEvent.set(pkg.name, pkg);
  }

  addRoute(route: SubscribeRoute): void {
    this.routes.push(route);
  }

  /** The registered packages (restore, stop). */
  all(): IterableIterator<EventPackage> {
    return this.byEvent.values();
  }

  /** The package for a subscription: synchronously when no route is registered. */
  resolve(event: string, resource: string, supported: readonly string[], request?: SipRequest): EventPackage | undefined | Promise<EventPackage | undefined> {
    if (this.routes.length === 0) return this.byEvent.get(event);
    return this.viaRoutes(event, resource, supported, request);
  }

  private async viaRoutes(event: string, resource: string, supported: readonly string[], request?: SipRequest): Promise<EventPackage | undefined> {
    for (const r of this.routes) {
      const p = await r({ event, resource, supported, request });
      if (p) return p;
    }
    return this.byEvent.get(event);
  }

  /** True when a route (not the event's own package) takes `resource` (the XMPP gateway's domains). */
  async routed(event: string, resource: string): Promise<boolean> {
    for (const r of this.routes) if (await r({ event, resource, supported: [] })) return true;
    return false;
  }

  /** Allow-Events value (RFC 6665 §8.2.2). */
  allowEvents(): string {
    return [...this.byEvent.keys()].join(", ");
  }
}
