/**
 * lib/bridge public API: the SIP over WebSocket (RFC 7118) ↔ TCP/TLS (or in-process flow) relay.
 * Imports lib/sip, node built-ins and `ws` only.
 */
export {
  createSipBridge,
  parseUpstreamUri,
  SIP_SUBPROTOCOL,
  type SipBridge,
  type SipBridgeInProcessUpstream,
  type SipBridgeLimits,
  type SipBridgeOptions,
  type SipBridgeUpstream,
} from "./sip-bridge";
export { WsClose } from "./bridged-connection";
export type { BridgeErrorKind, BridgeMetrics, UpgradeRejection } from "./metrics";
