/**
 * Start-up restore of persisted state: registrar bindings, each package's own rows (the kinds it
 * declares in `stateKinds`), then the subscriptions — each row parsed once, its package resolved
 * (routes may be asynchronous), and rebuilt by the notifier. After the server listens, each
 * package hears which of its subscriptions came back (`EventPackage.restored`).
 */
import type { SipLogger } from "../sip";
import type { EventPackage, SubscriptionView } from "./event-package";
import type { Notifier, Subscription, SubscriptionRecord } from "./notifier";
import type { PackageRegistry } from "./package-registry";
import type { Registrar } from "./registrar";
import type { PresenceStateStore, WriteBehind } from "./state-store";

export interface RestoreDeps {
  state: PresenceStateStore;
  persist: WriteBehind;
  registrar: Registrar;
  packages: PackageRegistry;
  notifier: Notifier;
  log: SipLogger;
}

/** Rebuild everything persisted; returns the restored subscriptions. */
export async function restoreState(d: RestoreDeps): Promise<Subscription[]> {
  const owned = [...d.packages.all()].flatMap((pkg) => (pkg.stateKinds ?? []).map((kind) => ({ pkg, kind })));
  const [regs, subs, ...ownRows] = await Promise.all([d.state.load("registration"), d.state.load("subscription"), ...owned.map((o) => d.state.load(o.kind))]);
  d.registrar.restore(regs);
  owned.forEach(({ pkg, kind }, i) => pkg.restoreState?.(kind, ownRows[i]));
  // parsed once; packages are resolved first (routes may be asynchronous), then the notifier rebuilds
  const records: Array<{ key: string; record: SubscriptionRecord }> = [];
  const pkgs = new Map<string, EventPackage | undefined>();
  for (const row of subs) {
    let record: SubscriptionRecord;
    try {
      record = JSON.parse(row.data) as SubscriptionRecord;
    } catch {
      d.persist.remove("subscription", row.key);
      continue;
    }
    try {
      pkgs.set(record.id, await d.packages.resolve(record.event, record.resource, record.supported ?? []));
    } catch (e) {
      d.log("warn", "no package for a persisted subscription", { key: row.key, error: e instanceof Error ? e.message : String(e) });
    }
    records.push({ key: row.key, record });
  }
  const restored = d.notifier.restore(records, (r) => pkgs.get(r.id));
  const own = ownRows.reduce((n, rows) => n + rows.length, 0);
  if (regs.length + own + subs.length > 0) {
    d.log("info", "restored state", { registrations: regs.length, subscriptions: restored.length, ...Object.fromEntries(owned.map((o, i) => [o.kind, ownRows[i].length])) });
  }
  return restored;
}

/** Tell each package which of its subscriptions were restored (after the server listens). */
export function announceRestored(packages: PackageRegistry, restored: readonly Subscription[]): void {
  const byPackage = new Map<EventPackage, SubscriptionView[]>();
  for (const pkg of packages.all()) byPackage.set(pkg, []);
  for (const s of restored) {
    let list = byPackage.get(s.pkg);
    if (!list) byPackage.set(s.pkg, (list = []));
    list.push(s);
  }
  for (const [pkg, subs] of byPackage) pkg.restored?.(subs);
}
