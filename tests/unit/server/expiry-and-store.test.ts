import { describe, expect, it } from "vitest";
import { ExpiryWheel, MemoryPresenceStateStore, WriteBehind, canonicalAor } from "@/lib/server";
import { FakeClock } from "./fake-timers";

describe("ExpiryWheel", () => {
  type Item = { name: string; wheelBucket?: number };
  const item = (name: string): Item => ({ name });

  it("expires items in time order with a single timer and honours rescheduling and deletion", () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    const wheel = new ExpiryWheel<Item>(clock, clock.now, (x) => fired.push(x.name), 100);
    const [a, b, c] = [item("a"), item("b"), item("c")];
    wheel.set(a, clock.t + 1000);
    wheel.set(b, clock.t + 500);
    wheel.set(c, clock.t + 2000);
    expect(clock.size).toBe(1);
    expect(wheel.size).toBe(3);
    wheel.set(a, clock.t + 3000); // refresh
    wheel.delete(c);
    expect(c.wheelBucket).toBeUndefined();
    expect(wheel.size).toBe(2);
    clock.advance(600);
    expect(fired).toEqual(["b"]);
    clock.advance(2000);
    expect(fired).toEqual(["b"]);
    clock.advance(500);
    expect(fired).toEqual(["b", "a"]);
    expect(wheel.size).toBe(0);
    expect(clock.size).toBe(0);
    expect(a.wheelBucket).toBeUndefined();
  });

  it("fires an item never before its time and at most one resolution step after it; its position is a small integer on the item", () => {
    const clock = new FakeClock();
    clock.advance(1_764_000_000_000); // a wall-clock time: positions are counted from the wheel's creation
    const fired: Array<{ name: string; at: number }> = [];
    const wheel = new ExpiryWheel<Item>(clock, clock.now, (x) => fired.push({ name: x.name, at: clock.t }), 250);
    const start = clock.t;
    const items = [item("x"), item("y"), item("z")];
    const due = [start + 1, start + 250, start + 3_600_000];
    items.forEach((x, i) => wheel.set(x, due[i]!));
    for (const x of items) expect(Number.isInteger(x.wheelBucket) && x.wheelBucket! >= 0 && x.wheelBucket! < 2 ** 30).toBe(true);
    for (let t = 0; t < 3_600_500; t += 50) clock.advance(50);
    expect(fired.map((f) => f.name)).toEqual(["x", "y", "z"]);
    fired.forEach((f, i) => {
      expect(f.at).toBeGreaterThanOrEqual(due[i]!);
      expect(f.at - due[i]!).toBeLessThanOrEqual(250 + 50);
    });
  });

  it("expires at once what is due already, and dispose forgets every item", () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    const wheel = new ExpiryWheel<Item>(clock, clock.now, (x) => fired.push(x.name), 100);
    const late = item("late");
    wheel.set(late, clock.t - 5000);
    clock.advance(0);
    expect(fired).toEqual(["late"]);
    const kept = item("kept");
    wheel.set(kept, clock.t + 1000);
    wheel.dispose();
    expect(kept.wheelBucket).toBeUndefined();
    expect(wheel.size).toBe(0);
    expect(clock.size).toBe(0);
    clock.advance(2000);
    expect(fired).toEqual(["late"]);
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
