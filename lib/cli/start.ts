/** `herald start`: migrate, build if needed, then run every piece in this process. */
import type { HeraldConfig } from "../config";
import { openDb, prepareDb, setDb } from "../db";
import { migrateIfNeeded } from "../migrations";
import { buildPortal, hasBuild, startPortal } from "../portal/http-server";
import { createSipBridge, parseUpstreamUri, type SipBridgeInProcessUpstream, type SipBridgeUpstream } from "../bridge";
import { sessionAorOfUpgrade } from "../portal/bridge-auth";
import { logger } from "../log";
import { startEmbeddedSipServer, type RunningSipServer } from "../server/main";
import { PrismaXcapStore } from "../storage/xcap-prisma-store";
import { xcapEvents } from "../portal/xcap-events";
import { signInEvents } from "../portal/sign-in-events";

export interface RunningHerald {
  httpPort: number;
  stop(): Promise<void>;
}

export async function startHerald(cfg: HeraldConfig, log: (line: string) => void = (l) => process.stdout.write(l + "\n")): Promise<RunningHerald> {
  const applied = await migrateIfNeeded(cfg.DATABASE_URL);
  if (applied.length) log(`herald: applied migrations ${applied.join(", ")}`);
  const db = openDb(cfg.DATABASE_URL);
  await prepareDb(db, cfg.DATABASE_URL);
  setDb(db);
  (globalThis as { __heraldConfig?: HeraldConfig }).__heraldConfig = cfg;
  // next-auth v4 builds absolute URLs from NEXTAUTH_URL, else (with AUTH_TRUST_HOST) from the
  // request's Host; the portal server drops client-sent X-Forwarded-Host unless PUBLIC_URL is set.
  if (cfg.PUBLIC_URL) process.env.NEXTAUTH_URL = cfg.PUBLIC_URL;
  else process.env.AUTH_TRUST_HOST = "true";
  let sip: RunningSipServer | undefined;
  if (cfg.SIP_EMBEDDED) {
    sip = await startEmbeddedSipServer(cfg, db, { store: new PrismaXcapStore(db), subscribe: xcapEvents().subscribe });
    log(`herald: SIP server on tcp ${cfg.SIP_HOST}:${sip.ports.tcp}${sip.ports.tls ? `, tls ${sip.ports.tls}` : ""}`);
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
  });
  const upstream = bridgeUpstream(cfg, sip);
  // a sign-in warms the user's buddy list in the embedded server before the page subscribes to
  // it — when the pages' SIP goes to that server (not with SIP_UPSTREAM)
  const rls = "openFlow" in upstream ? sip?.rls : undefined;
  const unsubscribeSignIns = rls ? signInEvents().subscribe((address) => void rls.warmList(`sip:${address}`)) : undefined;
  const bridge = createSipBridge({ path: "/sip", upstream, authenticate: sessionAorOfUpgrade, logger: logger(cfg.LOG_LEVEL) });
  portal.onUpgrade((req, socket, head) => bridge.handleUpgrade(req, socket, head));
  log(`herald: SIP bridge at /sip relaying to ${"openFlow" in upstream ? "the embedded SIP server (in-process flows)" : `${upstream.transport}:${upstream.host}:${upstream.port}`}`);
  // with PORT=0 the real port is known only now: everything deriving URLs reads it from config
  cfg.PORT = portal.port;
  log(`herald: portal listening on http://${cfg.HOST === "0.0.0.0" ? "localhost" : cfg.HOST}:${portal.port}`);
  const stop = async () => {
    unsubscribeSignIns?.();
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
  await migrateIfNeeded(cfg.DATABASE_URL);
  const db = openDb(cfg.DATABASE_URL);
  await prepareDb(db, cfg.DATABASE_URL);
  setDb(db);
  const sip = await startEmbeddedSipServer(cfg, db, { store: new PrismaXcapStore(db), subscribe: xcapEvents().subscribe });
  log(`herald: SIP server on tcp ${cfg.SIP_HOST}:${sip.ports.tcp}${sip.ports.tls ? `, tls ${sip.ports.tls}` : ""}`);
  const onSignal = () => void sip.stop().finally(() => process.exit(0));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return sip;
}
