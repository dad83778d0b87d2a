/**
 * lib/server — Herald's embedded SIP SIMPLE server: registrar, presence agent, pres-rules
 * authorization, watcher info, persistence, and the hooks the RLS plugs into.
 */
export { PresenceServer, type PresenceServerOptions, type PresenceServerListen, type SubscribeRoute, type NotifyHandler } from "./presence-server";
export { MemoryAccountDirectory, PrismaAccountDirectory, type AccountDirectory, type AccountStatus, type ServedDomain } from "./account-directory";
export {
  MemoryPresenceStateStore,
  PrismaPresenceStateStore,
  WriteBehind,
  type PresenceStateStore,
  type StateKind,
  type StateRow,
  type StateWrite,
} from "./state-store";
export type {
  EventPackage,
  InternalListener,
  InternalNotification,
  InternalSubscription,
  NotifyBody,
  PackageNotifier,
  SubscribeRequestContext,
  SubscriptionDecision,
  SubscriptionStatus,
  SubscriptionView,
  TerminationReason,
} from "./event-package";
export { Notifier, Subscription, type SubscriptionRecord } from "./notifier";
export { PresencePackage, PIDF_TYPE, decisionFor, presenceSlot, type PresenceSlot, type PublishLimits } from "./presence-package";
export { WatcherInfoPackage, WATCHERINFO_TYPE, type WatcherRecord } from "./winfo-package";
export { PresenceAuthorizer, permissionsKey, OMA_PRES_RULES_AUID, IETF_PRES_RULES_AUID, RESOURCE_LISTS_AUID, PIDF_MANIPULATION_AUID } from "./presence-authorizer";
export { Registrar, type Binding } from "./registrar";
export { ExpiryWheel } from "./expiry-wheel";
export { aorOf, canonicalAor, splitAor } from "./aor";
export { ResourceListServer, ResourceListSubscription, type ResourceListServerOptions } from "./rls";
export { startEmbeddedSipServer, type EmbeddedXcapSource, type RunningSipServer } from "./main";
export { XcapDiffPackage, XCAP_DIFF_EVENT, type XcapDiffPackageOptions } from "./xcap-diff-package";
