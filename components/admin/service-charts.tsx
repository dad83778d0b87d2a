"use client";
/**
 * Console: the service over the last hour — users online, publications, subscriptions, NOTIFYs and
 * login failures per minute — as SVG line charts drawn here (no chart library: five small line
 * charts need a polyline each, and our own markup stays accessible: each chart is an image with a
 * text alternative giving its latest, lowest and highest value). Polled from
 * /admin/service/samples while the page is open.
 */
import { useEffect, useId, useState } from "react";
import type { SeriesName, ServiceSeries } from "@/lib/portal/service-samples";
import { card, muted } from "./styles";

const CHARTS: Array<{ name: SeriesName; title: string; unit: string }> = [
  { name: "usersOnline", title: "Users online", unit: "users with a registration" },
  { name: "publications", title: "Publications", unit: "live PUBLISH publications" },
  { name: "subscriptions", title: "Subscriptions", unit: "SIP subscriptions (pending or active)" },
  { name: "notifiesPerMinute", title: "NOTIFYs per minute", unit: "NOTIFYs answered 2xx in the minute before" },
  { name: "loginFailuresPerMinute", title: "Login failures per minute", unit: "failed credential checks (portal, SIP, XCAP, API) in the minute before" },
];

const W = 320;
const H = 96;
const PAD = 4;
const HOUR_MS = 3_600_000;

function LineChart({ title, unit, at, values, testId }: { title: string; unit: string; at: number[]; values: number[]; testId: string }) {
  const id = useId();
  const now = at[at.length - 1] ?? 0;
  const latest = values[values.length - 1] ?? 0;
  const max = Math.max(1, ...values);
  const min = values.length ? Math.min(...values) : 0;
  const x = (t: number) => PAD + ((W - 2 * PAD) * (t - (now - HOUR_MS))) / HOUR_MS;
  const y = (v: number) => H - PAD - ((H - 2 * PAD) * v) / max;
  const points = values.map((v, i) => `${x(at[i]!).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  return (
    <figure className={`${card} p-4`} data-testid={testId}>
      <figcaption className="flex items-baseline justify-between gap-2">
        <span id={`${id}-title`} className="text-sm font-semibold">{title}</span>
        <span className="text-lg font-semibold tabular-nums" data-testid={`${testId}-latest`}>{latest}</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-title ${id}-desc`} className="mt-2 h-24 w-full text-blue-700 dark:text-blue-300" preserveAspectRatio="none">
        <desc id={`${id}-desc`}>
          {`Last hour: now ${latest}, lowest ${min}, highest ${Math.max(...values, 0)} (${unit}).`}
        </desc>
        <line x1={PAD} x2={W - PAD} y1={H - PAD} y2={H - PAD} className="stroke-slate-300 dark:stroke-slate-600" strokeWidth="1" />
        {values.length > 1 ? <polyline points={points} fill="none" stroke="currentColor" strokeWidth="2" vectorEffect="non-scaling-stroke" /> : null}
        {values.length ? <circle cx={x(now)} cy={y(latest)} r="3" fill="currentColor" /> : null}
      </svg>
      <div className={`mt-1 flex justify-between text-xs ${muted}`} aria-hidden="true">
        <span>60 min ago</span>
        <span>max {max}</span>
        <span>now</span>
      </div>
    </figure>
  );
}

export function ServiceCharts({ initial }: { initial: ServiceSeries }) {
  const [data, setData] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stopped = false;
    const every = Math.min(5, initial.intervalSeconds) * 1000;
    const timer = setInterval(async () => {
      try {
        const r = await fetch("/admin/service/samples", { cache: "no-store" });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        const next = (await r.json()) as ServiceSeries;
        if (!stopped) {
          setData(next);
          setError(null);
        }
      } catch (e) {
        if (!stopped) setError(`Live updates paused: ${(e as Error).message}`);
      }
    }, every);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [initial.intervalSeconds]);
  const updated = new Date(data.at[data.at.length - 1] ?? Date.now()).toISOString().slice(11, 19);
  return (
    <>
      <p className={`mt-1 text-sm ${muted}`}>
        The last hour, sampled every {data.intervalSeconds} s by this server; the last point is now (updated {updated} UTC).
      </p>
      {error ? (
        <p role="alert" className="mt-2 text-sm text-red-800 dark:text-red-300">
          {error}
        </p>
      ) : null}
      <div className="mt-4 grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
        {CHARTS.map((c) => (
          <LineChart key={c.name} title={c.title} unit={c.unit} at={data.at} values={data.series[c.name]} testId={`chart-${c.name}`} />
        ))}
      </div>
    </>
  );
}
