/** The Resource List Server (RFC 4662) of the embedded presence server. */
export { ResourceListServer, ResourceListSubscription, EVENTLIST, RLS_ACCEPT_TYPES, type ResourceListServerOptions, type DepartmentListSource } from "./resource-list-server";
export { ServiceResolver, type ListResource, type ResolvedService, type ServiceResolverOptions } from "./service-resolver";
export { BackEndPool, type BackEndHandle, type BackEndState } from "./back-end";
export { RemoteSubscriber, type RemoteHop, type RemoteSubscriberOptions } from "./remote-subscriber";
