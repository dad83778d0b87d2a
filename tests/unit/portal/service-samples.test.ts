/**
 * The console charts' sampler (ISSUE-16 item 2): a ring holding an hour of samples (oldest
 * overwritten), a live point at the end, gauges as sampled and counters as events in the minute
 * before each point.
 */
import { describe, expect, it } from "vitest";
import { SampleRing, ServiceSampler, type ServiceCounters } from "@/lib/portal/service-samples";

const zero: ServiceCounters = { usersOnline: 0, publications: 0, subscriptions: 0, notifiesSent: 0, authFailures: 0 };

describe("service sampler", () => {
  it("the ring keeps the newest `capacity` samples, oldest first", () => {
    const r = new SampleRing(3);
    for (let i = 1; i <= 5; i++) r.push({ at: i, ...zero });
    expect(r.toArray().map((s) => s.at)).toEqual([3, 4, 5]);
  });

  it("an hour of samples at the interval, a live point last, counters per minute", () => {
    let now = 1_000_000;
    let c: ServiceCounters = { ...zero };
    const s = new ServiceSampler({ read: () => c, intervalMs: 30_000, now: () => now });
    expect(s.ring.capacity).toBe(121);
    s.sample(); // baseline
    for (let i = 1; i <= 4; i++) {
      now += 30_000;
      c = { usersOnline: i, publications: 2 * i, subscriptions: 3 * i, notifiesSent: 10 * i, authFailures: i === 4 ? 5 : 0 };
      s.sample();
    }
    now += 1000;
    c = { ...c, usersOnline: 9, notifiesSent: 47, authFailures: 6 };
    const out = s.series();
    expect(out.intervalSeconds).toBe(30);
    expect(out.at).toEqual([1_000_000, 1_030_000, 1_060_000, 1_090_000, 1_120_000, 1_121_000]);
    expect(out.series.usersOnline).toEqual([0, 1, 2, 3, 4, 9]);
    expect(out.series.publications).toEqual([0, 2, 4, 6, 8, 8]);
    // NOTIFYs in the minute before: against the latest sample at least 60 s older (else the first)
    expect(out.series.notifiesPerMinute).toEqual([0, 10, 20, 20, 20, 47 - 20]);
    expect(out.series.loginFailuresPerMinute).toEqual([0, 0, 0, 0, 5, 6]);

    // samples older than an hour drop out of the series
    now += 3_600_000;
    s.sample();
    expect(s.series().at).toEqual([now, now]);
  });
});
