import { describe, expect, it } from "vitest";
import { attachActivityListeners, AutoAway } from "@/lib/client";
import { FakeClock } from "./fixtures";

function setup(idleMs = 10 * 60_000) {
  const clock = new FakeClock();
  const log: string[] = [];
  const aa = new AutoAway({ idleMs, timers: clock, onIdle: () => log.push("idle"), onActive: () => log.push("active") });
  return { clock, log, aa };
}

describe("AutoAway", () => {
  it("defaults to 10 minutes and reports idle once after the quiet period", () => {
    const clock = new FakeClock();
    const log: string[] = [];
    const aa = new AutoAway({ timers: clock, onIdle: () => log.push("idle"), onActive: () => log.push("active") });
    aa.start();
    clock.advance(10 * 60_000 - 1);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(["idle"]);
    clock.advance(60 * 60_000);
    expect(log).toEqual(["idle"]);
    expect(aa.idle).toBe(true);
  });

  it("activity postpones idleness without creating timers per event", () => {
    const { clock, log, aa } = setup(60_000);
    aa.start();
    clock.advance(50_000);
    for (let i = 0; i < 100; i++) aa.activity();
    expect(clock.pending).toHaveLength(1);
    clock.advance(50_000);
    expect(log).toEqual([]);
    clock.advance(10_000);
    expect(log).toEqual(["idle"]);
  });

  it("comes back on activity and can go idle again", () => {
    const { clock, log, aa } = setup(60_000);
    aa.start();
    clock.advance(60_000);
    aa.activity();
    expect(log).toEqual(["idle", "active"]);
    clock.advance(60_000);
    expect(log).toEqual(["idle", "active", "idle"]);
  });

  it("stop while idle reports active; setIdleMs re-arms relative to the last activity", () => {
    const { clock, log, aa } = setup(60_000);
    aa.start();
    clock.advance(60_000);
    aa.stop();
    expect(log).toEqual(["idle", "active"]);
    aa.start();
    clock.advance(20_000);
    aa.setIdleMs(30_000);
    clock.advance(10_000);
    expect(log).toEqual(["idle", "active", "idle"]);
  });

  it("attachActivityListeners feeds DOM events and detaches", () => {
    const { clock, log, aa } = setup(60_000);
    const handlers = new Map<string, () => void>();
    const target = {
      addEventListener: (t: string, l: () => void) => handlers.set(t, l),
      removeEventListener: (t: string) => handlers.delete(t),
    };
    const detach = attachActivityListeners(target, aa);
    expect([...handlers.keys()]).toContain("keydown");
    aa.start();
    clock.advance(60_000);
    handlers.get("pointermove")?.();
    expect(log).toEqual(["idle", "active"]);
    detach();
    expect(handlers.size).toBe(0);
  });
});
