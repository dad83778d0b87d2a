import { describe, expect, it } from "vitest";
import { RateWindow } from "@/lib/accounts/rate-window";

describe("RateWindow", () => {
  it("allows max events per key in any window, then says when the oldest leaves it", () => {
    let now = 0;
    const w = new RateWindow({ max: 2, windowMs: 60_000, now: () => now });
    expect(w.take("a")).toEqual({ allowed: true });
    now = 10_000;
    expect(w.take("a")).toEqual({ allowed: true });
    expect(w.take("b")).toEqual({ allowed: true }); // keys are apart
    now = 30_000;
    expect(w.take("a")).toEqual({ allowed: false, retryAfterSeconds: 30 });
    // a refusal is not counted: once the first event is out of the window one more is allowed
    now = 60_001;
    expect(w.take("a")).toEqual({ allowed: true });
    expect(w.take("a")).toEqual({ allowed: false, retryAfterSeconds: 10 });
  });

  it("tracks at most maxKeys keys, dropping the one idle longest", () => {
    const w = new RateWindow({ max: 1, windowMs: 60_000, maxKeys: 2, now: () => 0 });
    w.take("a");
    w.take("b");
    expect(w.take("a").allowed).toBe(false); // a is still counted (and now used most recently)
    w.take("c"); // b, idle longest, is forgotten
    expect(w.take("b").allowed).toBe(true);
    expect(w.take("c").allowed).toBe(false);
  });
});
