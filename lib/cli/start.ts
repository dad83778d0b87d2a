/** `herald start`: migrate, build if needed, then run every piece in this process. */
import type { IncomingMessage } from "node:http";
import { setConfig, type HeraldConfig } from "../config";
import { openDb, prepareDb, setDb } from "../db";
import { migrateIfNeeded } from "../migrations";
import { buildPortal, hasBuild, startPortal } from "../portal/http-server";
import { createSipBridge, parseUpstreamUri, type SipBridge, type SipBridgeInProcessUpstream, type SipBridgeUpstream } from "../bridge";
import { sessionAorOfUpgrade } from "../portal/bridge-auth";
import { logger } from "../log";
import { startEmbeddedSipServer, type RunningSipServer } from "../server/main";
import { PrismaXcapStore } from "../storage/xcap-prisma-store";
import { xcapEvents } from "../portal/xcap-events";
import { xcapHttp } from "../portal/xcap";
import { signInEvents } from "../portal/sign-in-events";
import { RevocationWatcher } from "../accounts/revocation-watcher";
import { REVOCATION_MESSAGES, type Revocation } from "../accounts/revocations";
import type { Db } from "../db";
import { accountsChanged } from "../accounts/changes";
import { clientAddress, normalizeIp } from "../portal/client-address";
import { setMetricsSources, type MetricsSources } from "../metrics";
import { setLiveStateSource, type LiveStateSource } from "../portal/live-state";
import { ServiceSampler, setServiceSampler } from "../portal/service-samples";
import { authLimiterOptions, sharedAuthLimiter } from "../accounts/auth-limiter";
import { presentityRemovals } from "../accounts/virtual-presentities";
import { applyServerV8Flags } from "./v8-flags";

export interface RunningHerald {
  httpPort: number;
  stop(): Promise<void>;
}

export async function startHerald(cfg: HeraldConfig, log: (line: string) => void = (l) => process.stdout.write(l + "\n")): Promise<RunningHerald> {
  applyServerV8Flags();
  const applied = await migrateIfNeeded(cfg.DATABASE_URL);
  if (applied.length) log(`herald: applied migrations ${applied.join(", ")}`);
  const db = openDb(cfg.DATABASE_URL);
  await prepareDb(db, cfg.DATABASE_URL);
  setDb(db);
  setConfig(cfg);
  // next-auth v4 builds absolute URLs from NEXTAUTH_URL, else (with AUTH_TRUST_HOST) from the
  // request's Host; the portal server drops client-sent X-Forwarded-Host unless PUBLIC_URL is set.
  if (cfg.PUBLIC_URL) process.env.NEXTAUTH_URL = cfg.PUBLIC_URL;
  else process.env.AUTH_TRUST_HOST = "true";
  let sip: RunningSipServer | undefined;
  if (cfg.SIP_EMBEDDED) {
    sip = await startEmbeddedSipServer(cfg, db, { store: new PrismaXcapStore(db), subscribe: xcapEvents().subscribe });
    log(`herald: SIP server on tcp ${cfg.SIP_HOST}:${sip.ports.tcp}${sip.ports.tls ? `, tls ${sip.ports.tls}` : ""}`);
    if (sip.xmpp) log(`herald: XMPP gateway for ${cfg.XMPP_COMPONENT_DOMAIN} (contacts in ${cfg.XMPP_DOMAINS?.join(", ")}) via ${cfg.XMPP_COMPONENT_URL}`);
  }
  if (!hasBuild()) {
    log("herald: no build found, running next build (once)…");
    await buildPortal();
  }
  const portal = await startPortal({
    host: cfg.HOST,
    port: cfg.PORT,
    trustForwardedHost: Boolean(cfg.PUBLIC_URL),
    xcapRootPath: cfg.XCAP_ROOT_PATH,
    trustedProxies: cfg.TRUSTED_PROXIES,
    headerTimeoutMs: cfg.HTTP_HEADER_TIMEOUT_SECONDS * 1000,
    // the XCAP root before Next.js routing; the same XcapHttp (and document cache) as the portal's
    // server actions; a portal session is checked as for the bridge (account, epoch, enabled)
    xcap: (req, res) =>
      xcapHttp().handleNode(req, res, {
        sessionAor: async () => (req.headers.cookie ? ((await sessionAorOfUpgrade(req))?.aor ?? null) : null),
        ...(cfg.PUBLIC_URL ? { origin: new URL(cfg.PUBLIC_URL).origin } : {}),
      }),
  });
  const upstream = bridgeUpstream(cfg, sip);
  // a sign-in warms the user's buddy list in the embedded server before the page subscribes to
  // it — when the pages' SIP goes to that server (not with SIP_UPSTREAM)
  const rls = "openFlow" in upstream ? sip?.rls : undefined;
  const unsubscribeSignIns = rls ? signInEvents().subscribe((address) => void rls.warmList(`sip:${address}`)) : undefined;
  const bridge = createSipBridge({
    path: "/sip",
    upstream,
    authenticate: sessionAorOfUpgrade,
    clientAddress: bridgeClientAddress(cfg),
    limits: { maxConnectionsPerUser: cfg.BRIDGE_MAX_CONNECTIONS_PER_USER, maxConnectionsPerAddress: cfg.BRIDGE_MAX_CONNECTIONS_PER_ADDRESS },
    logger: logger(cfg.LOG_LEVEL),
  });
  // disable / delete / password change, also by the CLI: the account's pages and SIP state end
  const revocations = await watchRevocations(cfg, db, (r) => {
    bridge.closeUser(r.address, r.reason);
    sip?.server.dropAccount(`sip:${r.address}`, { deleted: r.reason === "deleted" });
  });
  // a virtual presentity deleted in the console or through the API: its watchers' subscriptions end
  const unsubscribeRemovals = presentityRemovals().subscribe((address) => sip?.server.dropAccount(`sip:${address}`, { deleted: true }));
  portal.onUpgrade((req, socket, head) => bridge.handleUpgrade(req, socket, head));
  setLiveStateSource(sip && liveStateSource(sip, bridge));
  setServiceSampler(sip && serviceSampler(cfg, sip));
  setMetricsSources({
    ...metricsSources(cfg, sip),
    bridge: { connectionsOpen: () => bridge.metrics().connectionsOpen, connectionsTotal: () => bridge.metrics().connectionsTotal },
  });
  log(`herald: SIP bridge at /sip relaying to ${"openFlow" in upstream ? "the embedded SIP server (in-process flows)" : `${upstream.transport}:${upstream.host}:${upstream.port}`}`);
  // with PORT=0 the real port is known only now: everything deriving URLs reads it from config
  cfg.PORT = portal.port;
  log(`herald: portal listening on http://${cfg.HOST === "0.0.0.0" ? "localhost" : cfg.HOST}:${portal.port}`);
  const stop = async () => {
    unsubscribeSignIns?.();
    unsubscribeRemovals();
    setServiceSampler(undefined);
    await revocations.stop();
    await bridge.close();
    await portal.close();
    await sip?.stop();
    await db.$disconnect();
  };
  const onSignal = () => {
    void stop().finally(() => process.exit(0));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return { httpPort: portal.port, stop };
}

/**
 * The console's live view and actions: the embedded server's, and ending a registration made by a
 * web page also closes that page's bridge connection with 4001 "operator" (the page says the
 * operator signed it out and signs itself out).
 */
export function liveStateSource(sip: RunningSipServer, bridge: Pick<SipBridge, "closeFlow">): LiveStateSource {
  const server = sip.server;
  return {
    liveState: (aor) => server.liveState(aor),
    metrics: () => server.metrics(),
    terminateSubscription: (aor, id) => server.terminateSubscription(aor, id),
    clearPublication: (aor, etag) => server.clearPublication(aor, etag),
    endRegistration: (aor, contact) => {
      const ended = server.endRegistration(aor, contact);
      for (const e of ended) if (e.flowPort !== undefined) bridge.closeFlow(e.flowPort, "operator");
      return ended;
    },
  };
}

/** The console's charts: the embedded server's counters and the shared limiter's failures, sampled every CONSOLE_CHART_SAMPLE_SECONDS. */
export function serviceSampler(cfg: HeraldConfig, sip: RunningSipServer): ServiceSampler {
  const limiter = sharedAuthLimiter(authLimiterOptions(cfg));
  const sampler = new ServiceSampler({
    intervalMs: cfg.CONSOLE_CHART_SAMPLE_SECONDS * 1000,
    read: () => {
      const m = sip.server.metrics();
      const subscriptions = m.subscriptions.filter((x) => x.state !== "terminated").reduce((n, x) => n + x.count, 0);
      return { usersOnline: m.usersOnline, publications: m.publications, subscriptions, notifiesSent: m.notifies.sent, authFailures: limiter.failures };
    },
  });
  sampler.start();
  return sampler;
}

/** What /metrics reads from the embedded SIP server and the shared limiter (lib/metrics.ts). */
export function metricsSources(cfg: HeraldConfig, sip: RunningSipServer | undefined): MetricsSources {
  const limiter = sharedAuthLimiter(authLimiterOptions(cfg));
  const server = sip?.server;
  return {
    authFailures: () => limiter.failures,
    ...(server
      ? {
          sip: {
            registrations: () => server.metrics().registrations,
            publications: () => server.metrics().publications,
            subscriptions: () => server.metrics().subscriptions,
            notifies: () => server.metrics().notifies,
          },
        }
      : {}),
  };
}

/**
 * Start the watcher of account revocations (lib/accounts/revocation-watcher.ts): within
 * SESSION_REVOCATION_POLL_MS of a disable, delete or password change — at once when this
 * process made it — `act` runs for the account.
 */
async function watchRevocations(cfg: HeraldConfig, db: Db, act: (r: Revocation) => void): Promise<RevocationWatcher> {
  const log = logger(cfg.LOG_LEVEL);
  const w = new RevocationWatcher({
    db,
    intervalMs: cfg.SESSION_REVOCATION_POLL_MS,
    // rows are kept at least as long as short-lived credentials live (those issued before a row are refused)
    retainMs: Math.max(24 * 3600_000, cfg.SIP_EPHEMERAL_TTL * 1000),
    logger: log,
    onRevoked: (r) => {
      log("info", "accounts: sessions ended", { address: r.address, reason: r.reason, message: REVOCATION_MESSAGES[r.reason] });
      // a write by another process (the CLI): the account caches (SIP digest and status, XCAP
      // credentials and realms) read it again now, not only after their TTL
      accountsChanged();
      act(r);
    },
  });
  await w.start();
  return w;
}

/**
 * The client address a bridge upgrade counts against (BRIDGE_MAX_CONNECTIONS_PER_ADDRESS): the
 * real client address, as for logins (X-Forwarded-For only from TRUSTED_PROXIES).
 */
export function bridgeClientAddress(cfg: Pick<HeraldConfig, "TRUSTED_PROXIES">): (req: IncomingMessage) => string {
  const trusted = new Set(cfg.TRUSTED_PROXIES.map(normalizeIp));
  return (req) => clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], trusted);
}

/**
 * Where the bridge sends browsers' SIP: SIP_UPSTREAM when set (always a real TCP/TLS connection,
 * e.g. to Kamailio); else the embedded server in this process over in-memory flows (no loopback
 * TCP hop); else (embedded server off) TCP to SIP_HOST:SIP_PORT.
 */
export function bridgeUpstream(cfg: HeraldConfig, sip: RunningSipServer | undefined): SipBridgeUpstream | SipBridgeInProcessUpstream {
  if (cfg.SIP_UPSTREAM) return parseUpstreamUri(cfg.SIP_UPSTREAM);
  if (sip) {
    const transport = sip.server.transport;
    // the bridge checked the session and lets the browser be nobody else: the flow belongs to its user
    return { openFlow: (peer) => transport.openFlow({ owner: `sip:${peer.aor}`, clientAddress: peer.clientAddress }), name: "embedded SIP server" };
  }
  return { host: cfg.SIP_HOST === "0.0.0.0" ? "127.0.0.1" : cfg.SIP_HOST, port: cfg.SIP_PORT, transport: "tcp" };
}

/** `herald sip`: only the embedded SIP server (operators running the portal elsewhere). */
export async function startSipOnly(cfg: HeraldConfig, log: (line: string) => void = (l) => process.stdout.write(l + "\n")) {
  applyServerV8Flags();
  await migrateIfNeeded(cfg.DATABASE_URL);
  const db = openDb(cfg.DATABASE_URL);
  await prepareDb(db, cfg.DATABASE_URL);
  setDb(db);
  const sip = await startEmbeddedSipServer(cfg, db, { store: new PrismaXcapStore(db), subscribe: xcapEvents().subscribe });
  log(`herald: SIP server on tcp ${cfg.SIP_HOST}:${sip.ports.tcp}${sip.ports.tls ? `, tls ${sip.ports.tls}` : ""}`);
  const revocations = await watchRevocations(cfg, db, (r) => sip.server.dropAccount(`sip:${r.address}`, { deleted: r.reason === "deleted" }));
  const onSignal = () => void revocations.stop().then(() => sip.stop()).finally(() => process.exit(0));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return sip;
}
