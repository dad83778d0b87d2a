/**
 * /metrics (ISSUE-16 item 7): closed unless METRICS_TOKEN or METRICS_ALLOW opens it (403 by
 * default, 401 for a wrong token, which counts in the shared limiter); the Prometheus text shows
 * the live server: registrations, publications, subscriptions by package and state, NOTIFYs,
 * bridge connections, XCAP requests by status (through the portal's own XCAP instance), failed
 * credential checks, event-loop delay and heap. Real SIP over TCP, real WebSocket, real SQLite.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { AuthLimiter } from "@/lib/accounts/auth-limiter";
import { createSipBridge, type SipBridge } from "@/lib/bridge";
import { loadConfig, type HeraldConfig } from "@/lib/config";
import { bridgeUpstream, metricsSources } from "@/lib/cli/start";
import { setMetricsSources } from "@/lib/metrics";
import { serveMetrics } from "@/lib/portal/metrics-endpoint";
import { xcapHttp } from "@/lib/portal/xcap";
import { startEmbeddedSipServer, type RunningSipServer } from "@/lib/server/main";
import { PrismaXcapStore } from "@/lib/storage/xcap-prisma-store";
import { SipTestClient } from "../helpers/sip-client";
import { tempSqliteDb, type TempDb } from "../helpers/temp-db";
import { serveFetch } from "../helpers/xcap-http-server";
import { waitFor } from "../helpers/wait";
import { cookieSession } from "../integration/bridge/session-cookie";

const TOKEN = "metrics-token-for-tests-0123456789abcdef";
let t: TempDb;
let cfg: HeraldConfig;
let sip: RunningSipServer;
let bridge: SipBridge;
let wsUrl: string;
let http: Awaited<ReturnType<typeof serveFetch>>;
const limiter = new AuthLimiter({ perAccountAddress: 2, perAddress: 100 });

beforeAll(async () => {
  t = await tempSqliteDb();
  cfg = loadConfig({ HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-metrics-")), DATABASE_URL: t.url, SIP_HOST: "127.0.0.1", SIP_PORT: "0" });
  (globalThis as { __heraldConfig?: unknown }).__heraldConfig = cfg;
  await addDomain(t.db, "example.test");
  await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1" });
  await addAccount(t.db, { address: "bob@example.test", password: "Bob-pass1" });
  sip = await startEmbeddedSipServer(cfg, t.db, { store: new PrismaXcapStore(t.db) }, { rls: false });
  bridge = createSipBridge({ upstream: bridgeUpstream(cfg, sip), authenticate: cookieSession("example.test") });
  wsUrl = `ws://127.0.0.1:${(await bridge.listen(0, "127.0.0.1")).port}/sip`;
  // what `herald start` wires
  setMetricsSources({ ...metricsSources(cfg, sip), bridge: { connectionsOpen: () => bridge.metrics().connectionsOpen, connectionsTotal: () => bridge.metrics().connectionsTotal } });
  http = await serveFetch((r) => serveMetrics(r, { token: TOKEN, allow: ["192.0.2.9"], authLimiter: limiter }));
});

afterAll(async () => {
  await http?.close();
  await bridge?.close();
  await sip?.stop();
  await t?.close();
});

async function scrape(headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) {
  const r = await fetch(`${http.url}/metrics`, { headers });
  return { status: r.status, type: r.headers.get("content-type"), retryAfter: r.headers.get("retry-after"), text: await r.text() };
}

/** The value of a sample line `name{labels} value` (labels as written by prom-client). */
function sample(text: string, name: string, labels = ""): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("/metrics", { timeout: 60_000 }, () => {
  it("is closed by default: 403 without the token from an address not allowed; 401 for a wrong token, which counts as a failure", async () => {
    expect((await scrape({})).status).toBe(403);
    expect((await scrape({ "x-herald-client-ip": "192.0.2.10" })).status).toBe(403);
    const before = limiter.failures;
    const wrong = await scrape({ authorization: "Bearer not-the-token-at-all-not-the-token", "x-herald-client-ip": "192.0.2.11" });
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain("herald_");
    expect(limiter.failures).toBe(before + 1);
    await scrape({ authorization: "Bearer not-the-token-at-all-not-the-token", "x-herald-client-ip": "192.0.2.11" });
    const limited = await scrape({ authorization: `Bearer ${TOKEN}`, "x-herald-client-ip": "192.0.2.11" });
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it("opens with the token, or from an allowed address without it", async () => {
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(ok.type).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect((await scrape({ "x-herald-client-ip": "192.0.2.9" })).status).toBe(200);
  });

  it("shows the live server: registrations, publications, subscriptions by package and state, NOTIFYs, bridge, XCAP, failures, event loop, heap", async () => {
    const base = (await scrape()).text;
    expect(sample(base, "herald_sip_registrations")).toBe(0);
    const alice = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user: "alice", domain: "example.test", password: "Alice-pass1" });
    const bob = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user: "bob", domain: "example.test", password: "Bob-pass1" });
    const intruder = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user: "alice", domain: "example.test", password: "Wrong-pass1" });
    try {
      expect((await alice.register(600)).status).toBe(200);
      expect((await alice.publish('<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.test"><tuple id="t"><status><basic>open</basic></status></tuple></presence>')).status).toBe(200);
      const { sub } = await bob.subscribe("sip:alice@example.test"); // no rules yet: pending
      await bob.waitForNotify(() => true, { sub });
      await alice.subscribe("sip:alice@example.test", { event: "presence.winfo" });
      expect((await intruder.register(600)).status).toBe(401);
      const ws = new WebSocket(wsUrl, "sip", { headers: { cookie: "session=bob" } });
      await new Promise<void>((resolve, reject) => (ws.once("open", () => resolve()), ws.once("error", reject)));
      // digest credentials with an unknown nonce: challenged (401) without reading a session
      const uri = "/xcap-root/resource-lists/users/sip:alice@example.test/index";
      const xcap = await xcapHttp().handle(
        new Request(`http://127.0.0.1${uri}`, { headers: { authorization: `Digest username="alice", realm="example.test", nonce="bogus", uri="${uri}", response="00000000000000000000000000000000"` } }),
      );
      expect(xcap.status).toBe(401);

      const m = await waitFor(
        async () => {
          const text = (await scrape()).text;
          return (sample(text, "herald_sip_notify_sent_total") ?? 0) >= 2 ? text : undefined;
        },
        { what: "NOTIFYs counted" },
      );
      expect(sample(m, "herald_sip_registrations")).toBe(1);
      expect(sample(m, "herald_sip_publications")).toBe(1);
      expect(sample(m, "herald_sip_subscriptions", 'event="presence",state="pending"')).toBe(1);
      expect(sample(m, "herald_sip_subscriptions", 'event="presence.winfo",state="active"')).toBe(1);
      expect(sample(m, "herald_sip_notify_failed_total")).toBe(0);
      expect(sample(m, "herald_bridge_connections")).toBe(1);
      expect(sample(m, "herald_bridge_connections_total")).toBe(1);
      expect(sample(m, "herald_xcap_requests_total", 'method="GET",status="401"')).toBe(1);
      expect(sample(m, "herald_auth_failures_total")).toBeGreaterThanOrEqual(1);
      expect(m).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
      expect(m).toMatch(/^nodejs_heap_size_used_bytes \d/m);
      ws.close();
    } finally {
      await alice.close();
      await bob.close();
      await intruder.close();
    }
  });
});
