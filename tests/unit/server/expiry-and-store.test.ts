import { describe, expect, it } from "vitest";
import { ExpiryWheel, MemoryPresenceStateStore, WriteBehind, canonicalAor } from "@/lib/server";
import { FakeClock } from "./fake-timers";

describe("ExpiryWheel", () => {
  it("expires items in time order with a single timer and honours rescheduling and deletion", () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    const wheel = new ExpiryWheel<string>(clock, clock.now, (x) => fired.push(x), 100);
    wheel.set("a", clock.t + 1000);
    wheel.set("b", clock.t + 500);
    wheel.set("c", clock.t + 2000);
    expect(clock.size).toBe(1);
    wheel.set("a", clock.t + 3000); // refresh
    wheel.delete("c");
    clock.advance(600);
    expect(fired).toEqual(["b"]);
    clock.advance(2000);
    expect(fired).toEqual(["b"]);
    clock.advance(500);
    expect(fired).toEqual(["b", "a"]);
    expect(wheel.size).toBe(0);
    expect(clock.size).toBe(0);
  });
});

describe("WriteBehind", () => {
  it("coalesces changes per row, takes the snapshot at flush time and deletes", async () => {
    const store = new MemoryPresenceStateStore();
    const wb = new WriteBehind({ store, delayMs: 10_000 });
    let v = 1;
    for (let i = 0; i < 50; i++) wb.mark("subscription", "s1", () => ({ data: JSON.stringify({ cseq: v++ }) }));
    wb.mark("publication", "p1", () => ({ data: "{}", expiresAt: 5 }));
    expect(wb.pending).toBe(2);
    await wb.flush();
    expect(store.batches).toBe(1);
    expect((await store.load("subscription"))[0].data).toBe('{"cseq":1}');
    wb.remove("publication", "p1");
    await wb.stop();
    expect(await store.load("publication")).toEqual([]);
  });

  it("retries a failed flush without losing rows", async () => {
    const store = new MemoryPresenceStateStore();
    let fail = true;
    const flaky = { load: store.load.bind(store), apply: async (w: Parameters<typeof store.apply>[0]) => (fail ? Promise.reject(new Error("db down")) : store.apply(w)) };
    const errors: string[] = [];
    const wb = new WriteBehind({ store: flaky, delayMs: 10_000, logger: (_l, m) => errors.push(m) });
    wb.mark("watcher", "k", () => ({ data: "x" }));
    await wb.flush();
    expect(errors.length).toBe(1);
    fail = false;
    await wb.stop();
    expect((await store.load("watcher")).map((r) => r.data)).toEqual(["x"]);
  });
});

describe("canonicalAor", () => {
  it("folds the forms clients and Blink documents use", () => {
    expect(canonicalAor("sip%3Abob%40Example.TEST")).toBe("sip:bob@example.test");
    expect(canonicalAor("<sips:bob@example.test:5061;transport=tls>")).toBe("sip:bob@example.test");
    expect(canonicalAor("bob@example.test")).toBe("sip:bob@example.test");
  });
});
