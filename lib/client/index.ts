/**
 * lib/client — the browser SIP SIMPLE client (JsSIP + Herald's PUBLISH, RLS, winfo) and the
 * presence store the UI renders from. Browser-safe: no node: imports. React binding: ./use-presence-client.
 */
export { HeraldSipClient, SESSION_ENDED_CLOSE_CODE, credentialsExpiry, type HeraldSipClientOptions, type SipCredentials, type ClientEventMap, type ClientConnectionEvent } from "./herald-sip-client";
export { PresenceStore, INITIAL_PRESENCE, type PresenceSnapshot, type ConnectionStatus, type PresenceStoreListener } from "./presence-store";
export { Publisher, refreshDelayMs, type PublishTransport, type PublishRequest, type PublishResponse, type PublicationSnapshot, type PublicationState, type PublisherOptions } from "./publisher";
export { JsSipPublishTransport } from "./jssip-publish-transport";
export { JsSipMessageTransport } from "./jssip-message-transport";
export { InstantMessenger, type ChatMessage, type ChatMessageState, type Conversation, type MessengerSnapshot, type MessageTransport, type IncomingIm, type InstantMessengerOptions } from "./instant-messenger";
export { ResourceListSubscription, presenceListUri, RLS_ACCEPT, type ResourceListSubscriptionOptions } from "./resource-list-subscription";
export { WatcherInfoSubscription, type WatcherInfoSubscriptionOptions } from "./watcher-info-subscription";
export { SelfPresenceSubscription, type SelfPresenceSubscriptionOptions } from "./self-presence-subscription";
export { EventSubscription, type EventSubscriptionOptions, type EventSubscriptionState, type NotifyInfo } from "./event-subscription";
export {
  applyRlsNotify,
  markResourceListStale,
  resetResourceListVersion,
  EMPTY_RESOURCE_LIST,
  type ContactPresence,
  type ContactState,
  type ResourceListState,
  type RlsNotifyOutcome,
} from "./resource-list-state";
export { applyWatcherInfo, applyWatcherInfoNotify, pendingWatchers, activeWatchers, EMPTY_WATCHER_LIST, type WatcherEntry, type WatcherListState, type WinfoNotifyOutcome } from "./watcher-list-state";
export { composeMyPidf, pidfInputFor, extendedStatusOf, myStatusOf, localTimeOffsetMinutes, MY_STATUSES, DEFAULT_CAPABILITIES, type MyPresence, type MyStatus, type DeviceDescription } from "./my-presence";
export { AutoAway, attachActivityListeners, ACTIVITY_EVENTS, DEFAULT_IDLE_MINUTES, type AutoAwayOptions, type ActivityTarget } from "./auto-away";
export { tabInstanceId, randomUuid, INSTANCE_ID_STORAGE_KEY, type KeyValueStorage } from "./instance-id";
export { realTimers, backoffDelay, type ClientTimers, type TimerHandle } from "./timers";
export { SipClientError } from "./errors";
export { keepMd5Challenges, withMd5Challenges } from "./digest-challenge-filter";
