/**
 * The console's service charts (ISSUE-16 item 2): every `intervalMs` the running server's counters
 * — users online, publications, subscriptions, NOTIFYs sent, failed credential checks — are sampled
 * into a ring buffer holding the last hour, in the server process (`herald start` starts it). The
 * console reads the samples with a live point taken at request time, as series: the gauges as
 * sampled, the counters as events in the minute before each point.
 */
import { processWide } from "../process-wide";

export interface ServiceCounters {
  usersOnline: number;
  publications: number;
  subscriptions: number;
  /** Since start. */
  notifiesSent: number;
  /** Since start (portal login, XCAP and SIP digest, API tokens: the shared limiter). */
  authFailures: number;
}

export interface ServiceSample extends ServiceCounters {
  /** ms since the epoch */
  at: number;
}

export type SeriesName = "usersOnline" | "publications" | "subscriptions" | "notifiesPerMinute" | "loginFailuresPerMinute";

export interface ServiceSeries {
  intervalSeconds: number;
  /** Times of the points (ms since the epoch), oldest first; the last one is "now". */
  at: number[];
  series: Record<SeriesName, number[]>;
}

/** A fixed-size ring of samples, oldest overwritten. */
export class SampleRing {
  private readonly items: ServiceSample[] = [];
  private next = 0;

  constructor(readonly capacity: number) {}

  push(s: ServiceSample): void {
    if (this.items.length < this.capacity) this.items.push(s);
    else this.items[this.next] = s;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  toArray(): ServiceSample[] {
    return this.items.length < this.capacity ? [...this.items] : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

export interface ServiceSamplerOptions {
  read(): ServiceCounters;
  /** Default 10 000 (CONSOLE_CHART_SAMPLE_SECONDS). */
  intervalMs?: number;
  now?: () => number;
}

export class ServiceSampler {
  readonly ring: SampleRing;
  readonly intervalMs: number;
  private readonly o: ServiceSamplerOptions;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;

  constructor(options: ServiceSamplerOptions) {
    this.o = options;
    this.intervalMs = options.intervalMs ?? 10_000;
    this.now = options.now ?? Date.now;
    // an hour of samples, plus the baseline taken at start
    this.ring = new SampleRing(Math.ceil(HOUR_MS / this.intervalMs) + 1);
  }

  /** Take the baseline and sample every interval. */
  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  sample(): void {
    this.ring.push({ at: this.now(), ...this.o.read() });
  }

  /** The last hour as chart series, with a live point taken now. */
  series(): ServiceSeries {
    const now = this.now();
    const points = [...this.ring.toArray().filter((s) => s.at > now - HOUR_MS), { at: now, ...this.o.read() }];
    const all = this.ring.toArray();
    /** Events of counter `k` in the minute before `p`: against the latest sample at least a minute older (else the oldest). */
    const perMinute = (p: ServiceSample, k: "notifiesSent" | "authFailures") => {
      let base = all[0] ?? p;
      for (const s of all) if (s.at <= p.at - MINUTE_MS) base = s;
      return Math.max(0, p[k] - base[k]);
    };
    return {
      intervalSeconds: this.intervalMs / 1000,
      at: points.map((p) => p.at),
      series: {
        usersOnline: points.map((p) => p.usersOnline),
        publications: points.map((p) => p.publications),
        subscriptions: points.map((p) => p.subscriptions),
        notifiesPerMinute: points.map((p) => perMinute(p, "notifiesSent")),
        loginFailuresPerMinute: points.map((p) => perMinute(p, "authFailures")),
      },
    };
  }
}

const holder = () => processWide<{ sampler?: ServiceSampler }>("__heraldServiceSampler", () => ({}));

/** Install (or remove) the process's sampler; `herald start` does, with the embedded server. */
export function setServiceSampler(s: ServiceSampler | undefined): void {
  holder().sampler?.stop();
  holder().sampler = s;
}

/** The charts' series, or null when this process samples nothing (no embedded SIP server). */
export function serviceSeries(): ServiceSeries | null {
  return holder().sampler?.series() ?? null;
}
