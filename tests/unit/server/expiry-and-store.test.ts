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

  it("writes a large batch in writes of at most maxRowsPerWrite rows, letting other work run between them", async () => {
    const store = new MemoryPresenceStateStore();
    const order: string[] = [];
    const recording = { load: store.load.bind(store), apply: async (w: Parameters<typeof store.apply>[0]) => (order.push(`apply ${w.length}`), store.apply(w)) };
    const wb = new WriteBehind({ store: recording, delayMs: 10_000, maxRowsPerWrite: 2 });
    for (let i = 0; i < 5; i++) wb.mark("subscription", `s${i}`, () => ({ data: `{"n":${i}}` }));
    const flushed = wb.flush();
    setImmediate(() => order.push("other work"));
    await flushed;
    expect(order).toEqual(["apply 2", "other work", "apply 2", "apply 1"]);
    expect((await store.load("subscription")).map((r) => r.key).sort()).toEqual(["s0", "s1", "s2", "s3", "s4"]);
  });

  it("keeps the rows of a write that failed, and those after it, for the retry", async () => {
    const store = new MemoryPresenceStateStore();
    let calls = 0;
    const flaky = { load: store.load.bind(store), apply: async (w: Parameters<typeof store.apply>[0]) => (++calls === 2 ? Promise.reject(new Error("db down")) : store.apply(w)) };
    const wb = new WriteBehind({ store: flaky, delayMs: 10_000, maxRowsPerWrite: 2, logger: () => undefined });
    for (let i = 0; i < 5; i++) wb.mark("watcher", `w${i}`, () => ({ data: String(i) }));
    await wb.flush();
    expect((await store.load("watcher")).map((r) => r.key).sort()).toEqual(["w0", "w1"]);
    expect(wb.pending).toBe(3);
    await wb.stop();
    expect((await store.load("watcher")).map((r) => r.key).sort()).toEqual(["w0", "w1", "w2", "w3", "w4"]);
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
