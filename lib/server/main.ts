/**
 * Stand-alone entry of the embedded presence server, for the lead's wiring into `npm start`
 * (lib/cli/start.ts) and `npm run herald -- sip`:
 *
 * ```ts
 * const sip = await startEmbeddedSipServer(cfg, db, { store: xcapStore, subscribe: xcapEvents.subscribe });
 * log(`herald: SIP on tcp ${sip.ports.tcp}` + (sip.ports.tls ? `, tls ${sip.ports.tls}` : ""));
 * // on shutdown
 * await sip.stop();
 * ```
 *
 * - Listens on SIP_HOST:SIP_PORT (TCP) and SIP_TLS_PORT when SIP_TLS_CERT and SIP_TLS_KEY are set
 *   (file paths, read here).
 * - Serves the enabled domains of the Domain table, authenticates against Account HA1s and the
 *   autheph short-lived credentials derived from `cfg.ephemeralSecret`.
 * - Persists its state in the PresenceState table of `db` (write-behind; flushed by `stop()`).
 * - A publication made over a flow (bridge connection, RFC 5626 reg-id registration) ends
 *   SIP_FLOW_GRACE_SECONDS after the flow fails unless the device comes back over a new flow.
 * - Reads pres-rules / resource-lists / pidf-manipulation through `xcap.store` and re-evaluates
 *   watchers on every event `xcap.subscribe` delivers (pass the XCAP server's onChange fan-out).
 * - Serves xcap-diff (RFC 5875, xcap-diff-package.ts): users follow changes of their own XCAP
 *   documents, from the same `xcap.subscribe` events.
 * - Runs the RLS (RFC 4662, lib/server/rls) for the service URIs of rls-services documents and the
 *   department lists of the DepartmentList table; list edits arrive through the same
 *   `xcap.subscribe`, department list changes through their process bus. `extra.rls` tunes it; `rls: false` turns it off.
 * - Handles MESSAGE (lib/server/message): im-rules from `xcap.store`, history and offline queue in
 *   the InstantMessage table, bounds from the IM_* variables. `extra.im` tunes it; `im: false` turns it off.
 * - Runs the SIP–XMPP presence gateway (lib/xmpp) when XMPP_COMPONENT_URL is set: an XEP-0114
 *   component for XMPP_COMPONENT_DOMAIN at that URL, for contacts in XMPP_DOMAINS.
 */
import { ephemeralRevocationCheck, revokedSince } from "../accounts/revocations";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { HeraldConfig } from "../config";
import { logger as processLogger } from "../log";
import type { Db } from "../db";
import type { XcapChangeEvent, XcapStore } from "../xcap/server";
import { authLimiterOptions, sharedAuthLimiter } from "../accounts/auth-limiter";
import { PrismaAccountDirectory } from "./account-directory";
import { CREDENTIALS_TTL_MS, CredentialsCache } from "../accounts/digest-lookup";
import { PresenceServer, type PresenceServerOptions } from "./presence-server";
import { ResourceListServer, type ResourceListServerOptions } from "./rls";
import { departmentListAt, departmentListChanges } from "../accounts/department-lists";
import { PrismaPresenceStateStore } from "./state-store";
import { XcapDiffPackage } from "./xcap-diff-package";
import { publicXcapRootOf } from "../portal/public-xcap-root";
import { InstantMessaging, PrismaMessageStore, type InstantMessagingOptions } from "./message";
import { ComponentLink } from "../xmpp/component-link";
import { XmppGateway } from "../xmpp/gateway";

export interface EmbeddedXcapSource {
  store: XcapStore;
  /** Register a listener for XCAP writes; returns an unsubscribe function. */
  subscribe?: (listener: (e: XcapChangeEvent) => void) => () => void;
}

export interface RunningSipServer {
  server: PresenceServer;
  /** The RLS (undefined when turned off). */
  rls?: ResourceListServer;
  /** The MESSAGE handler (undefined when turned off). */
  im?: InstantMessaging;
  /** The SIP–XMPP gateway and its component link (when XMPP_COMPONENT_URL is set). */
  xmpp?: { gateway: XmppGateway; link: ComponentLink };
  ports: { tcp?: number; tls?: number };
  stop(): Promise<void>;
}

export async function startEmbeddedSipServer(
  cfg: HeraldConfig,
  db: Db,
  xcap: EmbeddedXcapSource,
  extra: Partial<PresenceServerOptions> & { cwd?: string; rls?: Partial<ResourceListServerOptions> | false; im?: Partial<InstantMessagingOptions> | false } = {},
): Promise<RunningSipServer> {
  const { cwd: cwdOption, rls: rlsOptions, im: imOptions, ...serverExtra } = extra;
  const cwd = cwdOption ?? process.cwd();
  const tls = cfg.SIP_TLS_CERT && cfg.SIP_TLS_KEY
    ? { cert: readFileSync(path.resolve(cwd, cfg.SIP_TLS_CERT)), key: readFileSync(path.resolve(cwd, cfg.SIP_TLS_KEY)), tlsPort: cfg.SIP_TLS_PORT }
    : {};
  const logger = extra.logger ?? processLogger(cfg.LOG_LEVEL);
  const server = new PresenceServer({
    listen: { host: cfg.SIP_HOST, tcpPort: cfg.SIP_PORT, ...tls },
    // accounts cached as XCAP's credentials are (5 s, emptied by every account write in this
    // process and by every revocation the watcher sees, lib/cli/start.ts)
    accounts: new PrismaAccountDirectory(db, { cache: new CredentialsCache({ ttlMs: CREDENTIALS_TTL_MS }), virtualCache: new CredentialsCache({ ttlMs: CREDENTIALS_TTL_MS }) }),
    ephemeralSecret: cfg.ephemeralSecret,
    ephemeralRevoked: ephemeralRevocationCheck(cfg.SIP_EPHEMERAL_TTL),
    revokedSince,
    xcap,
    state: new PrismaPresenceStateStore(db),
    logger,
    // one limiter with portal login and XCAP (same process under `herald start`)
    authLimiter: sharedAuthLimiter(authLimiterOptions(cfg)),
    flowGraceMs: cfg.SIP_FLOW_GRACE_SECONDS * 1000,
    digestAlgorithms: cfg.SIP_DIGEST_ALGORITHMS,
    headerTimeoutMs: cfg.SIP_HEADER_TIMEOUT_SECONDS * 1000,
    maxConnectionsPerAddress: cfg.SIP_MAX_CONNECTIONS_PER_ADDRESS,
    maxSendBacklogBytes: cfg.SIP_MAX_SEND_BACKLOG_BYTES,
    notifyIntervalMs: cfg.SIP_NOTIFY_INTERVAL_MS,
    ...serverExtra,
    publish: { maxPerPresentity: cfg.SIP_MAX_PUBLICATIONS_PER_PRESENTITY, ...serverExtra.publish },
  });
  // xcap-diff (RFC 5875): registered before start(), its restored subscriptions need it
  server.addPackage(new XcapDiffPackage({ notifier: server.notifier, store: xcap.store, subscribe: xcap.subscribe, xcapRoot: publicXcapRootOf(cfg), logger }));
  // routes must exist before start(): restored list subscriptions find their package through them
  const rls =
    rlsOptions === false
      ? undefined
      : new ResourceListServer({
          server,
          store: xcap.store,
          subscribe: xcap.subscribe,
          // department lists: changed by the console and the API in this process (the bus)
          departments: {
            get: async (uri) => {
              const l = await departmentListAt(db, uri);
              return l && { domain: l.domain, members: l.members.map((m) => ({ uri: `sip:${m.address}`, ...(m.displayName ? { name: m.displayName } : {}) })) };
            },
            subscribe: departmentListChanges().subscribe,
          },
          logger,
          maxConcurrentBuilds: cfg.RLS_MAX_CONCURRENT_BUILDS,
          ...rlsOptions,
        });
  const im =
    imOptions === false
      ? undefined
      : new InstantMessaging({
          server,
          store: new PrismaMessageStore(db),
          xcap,
          logger,
          maxBodyBytes: cfg.IM_MAX_MESSAGE_BYTES,
          maxPendingPerUser: cfg.IM_OFFLINE_MAX_PER_USER,
          pendingRetentionMs: cfg.IM_OFFLINE_RETENTION_DAYS * 86_400_000,
          historyRetentionMs: cfg.IM_HISTORY_RETENTION_DAYS * 86_400_000,
          deliveryTimeoutMs: cfg.IM_DELIVERY_TIMEOUT_SECONDS * 1000,
          rulesCacheEntries: cfg.IM_RULES_CACHE_ENTRIES,
          ...imOptions,
        });
  const xmpp = xmppGateway(cfg, server, xcap, logger);
  const addr = await server.start();
  // the gateway recovers its restored dialogs before the RLS re-creates its back ends
  xmpp?.gateway.start();
  xmpp?.link.start();
  await rls?.start();
  im?.start();
  return {
    server,
    rls,
    im,
    xmpp,
    ports: { tcp: addr.tcp?.port, tls: addr.tls?.port },
    stop: async () => {
      rls?.stop();
      await im?.stop();
      await xmpp?.link.stop();
      xmpp?.gateway.stop();
      await server.stop();
    },
  };
}

/** The gateway (route added now, before the server starts) and its link, when XMPP_COMPONENT_URL is set. */
function xmppGateway(cfg: HeraldConfig, server: PresenceServer, xcap: EmbeddedXcapSource, logger: PresenceServerOptions["logger"]): RunningSipServer["xmpp"] {
  const { XMPP_COMPONENT_URL: url, XMPP_COMPONENT_SECRET: secret, XMPP_COMPONENT_DOMAIN: domain, XMPP_DOMAINS: domains } = cfg;
  if (!url || !secret || !domain || !domains?.length) return undefined;
  const link = new ComponentLink({ url, domain, secret, logger });
  const gateway = new XmppGateway({ server, link, componentDomain: domain, xmppDomains: domains, xcap, logger, maxSubscriptionsPerUser: cfg.XMPP_MAX_SUBSCRIPTIONS_PER_USER });
  return { gateway, link };
}
