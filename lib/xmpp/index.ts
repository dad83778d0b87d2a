/**
 * lib/xmpp — the SIP–XMPP presence gateway: JIDs, presence stanzas and their PIDF mapping
 * (framework-free), the XEP-0114 component link and the gateway itself.
 */
export * from "./jid";
export * from "./presence-stanza";
export * from "./presence-mapping";
export { XmppContactPackage, type VirtualSubscription } from "./contact-package";
export { XmppGateway, type XmppGatewayOptions, type XmppLink } from "./gateway";
export { ComponentLink, type ComponentLinkOptions } from "./component-link";
