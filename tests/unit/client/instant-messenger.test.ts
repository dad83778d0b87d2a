import { describe, expect, it } from "vitest";
import { NS } from "../../../lib/presence/namespaces";
import { InstantMessenger, type IncomingIm, type MessageTransport } from "@/lib/client";
import { composeIsComposing, createCpim, serializeCpim } from "@/lib/im";

class FakeTransport implements MessageTransport {
  sent: Array<{ target: string; body: string; contentType: string }> = [];
  status = 200;
  private listener?: (m: IncomingIm) => void;
  async send(target: string, body: string, contentType: string) {
    this.sent.push({ target, body, contentType });
    return { status: this.status };
  }
  onMessage(l: (m: IncomingIm) => void) {
    this.listener = l;
    return () => (this.listener = undefined);
  }
  deliver(m: IncomingIm) {
    this.listener?.(m);
  }
}

function fakeTimers() {
  let now = 1_000_000;
  const due: Array<{ at: number; fn: () => void; id: number }> = [];
  let id = 0;
  return {
    now: () => now,
    setTimeout: (fn: () => void, ms: number) => (due.push({ at: now + ms, fn, id: ++id }), id),
    clearTimeout: (h: unknown) => {
      const i = due.findIndex((d) => d.id === h);
      if (i >= 0) due.splice(i, 1);
    },
    advance(ms: number) {
      now += ms;
      for (const d of due.filter((x) => x.at <= now)) {
        due.splice(due.indexOf(d), 1);
        d.fn();
      }
    },
  };
}

const BOB = "sip:bob@example.test";

describe("InstantMessenger", () => {
  it("typing: active at most every refresh/2, idle once; the peer's indicator ends with its refresh or a message", () => {
    const t = new FakeTransport();
    const timers = fakeTimers();
    const m = new InstantMessenger({ transport: t, timers, now: timers.now, composingRefreshS: 30 });
    m.composing(BOB, "active");
    m.composing(BOB, "active");
    timers.advance(14_000);
    m.composing(BOB, "active");
    timers.advance(2_000);
    m.composing(BOB, "active");
    m.composing(BOB, "idle");
    m.composing(BOB, "idle");
    expect(t.sent.map((s) => [s.contentType, s.body.includes("<state>active</state>") ? "active" : "idle"])).toEqual([
      ["application/im-iscomposing+xml", "active"],
      ["application/im-iscomposing+xml", "active"],
      ["application/im-iscomposing+xml", "idle"],
    ]);
    t.deliver({ from: BOB, contentType: "application/im-iscomposing+xml", body: composeIsComposing({ state: "active", refresh: 10 }) });
    expect(m.getSnapshot().conversations[BOB].typing).toBe(true);
    timers.advance(10_001);
    expect(m.getSnapshot().conversations[BOB].typing).toBe(false);
    t.deliver({ from: BOB, contentType: "application/im-iscomposing+xml", body: composeIsComposing({ state: "active" }) });
    t.deliver({ from: BOB, contentType: "text/plain", body: "hi" });
    expect(m.getSnapshot().conversations[BOB]).toMatchObject({ typing: false, unread: 1 });
  });

  it("reads CPIM text (From and DateTime inside), ignores IMDN and unreadable bodies; history merges without duplicates", () => {
    const t = new FakeTransport();
    const m = new InstantMessenger({ transport: t });
    const cpim = serializeCpim(createCpim({ from: { uri: "im:bob@example.test" }, to: { uri: "sip:alice@example.test" }, dateTime: new Date("2026-01-01T10:00:00Z"), contentType: "text/plain", body: "via cpim" }));
    t.deliver({ from: BOB, contentType: "message/cpim", body: cpim });
    const imdn = serializeCpim(createCpim({ from: { uri: BOB }, to: { uri: "sip:alice@example.test" }, extraHeaders: [{ name: "NS", value: `imdn <${NS.imdnHeaders}>` }], contentType: "message/imdn+xml", body: "<imdn/>" }));
    t.deliver({ from: BOB, contentType: "message/cpim", body: imdn });
    t.deliver({ from: BOB, contentType: "message/cpim", body: "garbage" });
    const c = m.getSnapshot().conversations[BOB];
    expect(c.messages.map((x) => [x.text, x.date])).toEqual([["via cpim", Date.parse("2026-01-01T10:00:00Z")]]);
    m.loadHistory(BOB, [
      { id: "h1", direction: "out", text: "earlier", date: Date.parse("2026-01-01T09:00:00Z") },
      { id: "h2", direction: "in", text: "via cpim", date: Date.parse("2026-01-01T10:00:00Z") },
    ]);
    expect(m.getSnapshot().conversations[BOB].messages.map((x) => x.text)).toEqual(["earlier", "via cpim"]);
  });

  it("message states: 200 delivered, 202 sent, error failed with its status, retry resends", async () => {
    const t = new FakeTransport();
    const m = new InstantMessenger({ transport: t });
    expect((await m.send(BOB, "a")).state).toBe("delivered");
    t.status = 202;
    expect((await m.send(BOB, "b")).state).toBe("sent");
    t.status = 403;
    const f = await m.send(BOB, "c");
    expect([f.state, f.failedStatus]).toEqual(["failed", 403]);
    t.status = 200;
    expect((await m.retry(BOB, f.id))?.state).toBe("delivered");
    expect(t.sent.map((s) => s.body)).toEqual(["a", "b", "c", "c"]);
    expect(m.getSnapshot().conversations[BOB].messages.map((x) => x.state)).toEqual(["delivered", "sent", "delivered"]);
  });
});
