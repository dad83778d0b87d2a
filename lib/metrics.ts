/**
 * Herald's Prometheus metrics (text exposition format, served at /metrics): one prom-client
 * registry per process (on globalThis: the Next.js bundle and the custom server load separate
 * copies of this module). Gauges are read at scrape time from the running pieces, which register
 * themselves as sources (`setMetricsSources`); counters are incremented where things happen.
 * Node's own metrics (event-loop delay, heap, GC, handles) come from prom-client's defaults.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { processWide } from "./process-wide";

/** What the running server exposes for scraping (all optional: `herald sip` has no bridge). */
export interface MetricsSources {
  sip?: {
    /** Registered contact bindings. */
    registrations(): number;
    /** Live PUBLISH publications. */
    publications(): number;
    /** Subscriptions held, by event package and RFC 6665 state. */
    subscriptions(): Array<{ event: string; state: string; count: number }>;
    /** NOTIFYs sent and failed since start. */
    notifies(): { sent: number; failed: number };
  };
  bridge?: { connectionsOpen(): number; connectionsTotal(): number };
  /** Failed credential checks since start (portal, XCAP, SIP, API tokens: the shared limiter). */
  authFailures?(): number;
}

interface HeraldMetrics {
  registry: Registry;
  sources: MetricsSources;
  xcapRequests: Counter<"method" | "status">;
}

function create(): HeraldMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const m: HeraldMetrics = {
    registry,
    sources: {},
    xcapRequests: new Counter({ name: "herald_xcap_requests_total", help: "XCAP requests answered, by method and status", labelNames: ["method", "status"], registers: [registry] }),
  };
  const gauge = (name: string, help: string, read: (g: Gauge) => void, labelNames: string[] = []) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        read(this);
      },
    });
  gauge("herald_sip_registrations", "Registered contact bindings", (g) => m.sources.sip && g.set(m.sources.sip.registrations()));
  gauge("herald_sip_publications", "Live PUBLISH publications", (g) => m.sources.sip && g.set(m.sources.sip.publications()));
  gauge(
    "herald_sip_subscriptions",
    "Subscriptions held by the presence server, by event package and state",
    (g) => {
      for (const s of m.sources.sip?.subscriptions() ?? []) g.set({ event: s.event, state: s.state }, s.count);
    },
    ["event", "state"],
  );
  // totals kept by the server: exposed as counters read at scrape time
  const counterFrom = (name: string, help: string, read: () => number | undefined) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read();
        if (v === undefined) return;
        this.reset();
        this.inc(v);
      },
    });
  counterFrom("herald_sip_notify_sent_total", "NOTIFYs sent (answered 2xx)", () => m.sources.sip?.notifies().sent);
  counterFrom("herald_sip_notify_failed_total", "NOTIFYs that failed (error response, timeout, no route)", () => m.sources.sip?.notifies().failed);
  gauge("herald_bridge_connections", "Open WebSocket bridge connections", (g) => m.sources.bridge && g.set(m.sources.bridge.connectionsOpen()));
  counterFrom("herald_bridge_connections_total", "WebSocket bridge connections accepted since start", () => m.sources.bridge?.connectionsTotal());
  counterFrom("herald_auth_failures_total", "Failed credential checks (portal login, XCAP and SIP digest, API tokens)", () => m.sources.authFailures?.());
  return m;
}

function metrics(): HeraldMetrics {
  return processWide("__heraldMetrics", create);
}

/** Register (or replace) the running pieces that gauges read. */
export function setMetricsSources(sources: MetricsSources): void {
  Object.assign(metrics().sources, sources);
}

/** Count one answered XCAP request. */
export function countXcapRequest(method: string, status: number): void {
  metrics().xcapRequests.inc({ method, status: String(status) });
}

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The exposition text. */
export function metricsText(): Promise<string> {
  return metrics().registry.metrics();
}
