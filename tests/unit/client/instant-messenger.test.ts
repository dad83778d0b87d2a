import { describe, expect, it } from "vitest";
import { NS } from "../../../lib/presence/namespaces";
import { InstantMessenger, type IncomingIm, type MessageTransport } from "@/lib/client";
import { composeIsComposing, cpimHeader, createCpim, imdnCpim, parseCpim, parseImdn, serializeCpim } from "@/lib/im";

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
const ALICE = "sip:alice@example.test";

/** A message as a peer's page sends it: CPIM asking for delivery notifications. */
function fromPeer(from: string, to: string, messageId: string, body: string, dispositions = "positive-delivery, negative-delivery") {
  return serializeCpim(
    createCpim({
      from: { uri: from },
      to: { uri: to },
      dateTime: new Date("2026-03-01T08:00:00Z"),
      extraHeaders: [
        { name: "NS", value: `imdn <${NS.imdnHeaders}>` },
        { name: "imdn.Message-ID", value: messageId },
        { name: "imdn.Disposition-Notification", value: dispositions },
      ],
      contentType: "text/plain",
      body,
    }),
  );
}

const notice = (about: string, status: string) =>
  serializeCpim(imdnCpim({ from: BOB, to: ALICE, notificationId: `n-${about}-${status}`, notification: { messageId: about, dateTime: new Date().toISOString(), kind: "delivery", status } }));

function ids() {
  let n = 0;
  return () => `id-${++n}`;
}

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

  it("IMDN (RFC 5438): sends CPIM asking for positive and negative delivery; a delivered notice turns a stored message delivered, a failed one failed with retry under a new Message-ID", async () => {
    const t = new FakeTransport();
    const m = new InstantMessenger({ transport: t, self: ALICE, newMessageId: ids() });
    t.status = 202;
    const stored = await m.send(BOB, "while you sleep");
    expect(stored).toMatchObject({ state: "sent", messageId: "id-1" });
    const cpim = parseCpim(t.sent[0].body);
    expect(t.sent[0].contentType).toBe("message/cpim");
    expect([cpimHeader(cpim, "From"), cpimHeader(cpim, "To"), cpim.body]).toEqual([`<${ALICE}>`, `<${BOB}>`, "while you sleep"]);
    expect(cpimHeader(cpim, "Message-ID", NS.imdnHeaders)).toBe("id-1");
    expect(cpimHeader(cpim, "Disposition-Notification", NS.imdnHeaders)).toBe("positive-delivery, negative-delivery");
    // bob signs in: his page's notice arrives
    t.deliver({ from: BOB, contentType: "message/cpim", body: notice("id-1", "delivered") });
    expect(m.getSnapshot().conversations[BOB].messages[0].state).toBe("delivered");
    // a negative notice: failed, with the reason, and retry sends again under a new Message-ID
    const second = await m.send(BOB, "second");
    t.deliver({ from: BOB, contentType: "message/cpim", body: notice(second.messageId as string, "failed") });
    const failed = m.getSnapshot().conversations[BOB].messages[1];
    expect([failed.state, failed.failedNotice]).toEqual(["failed", "failed"]);
    t.status = 200;
    const again = await m.retry(BOB, failed.id);
    expect(again).toMatchObject({ state: "delivered", messageId: "id-3" });
    expect(cpimHeader(parseCpim(t.sent[2].body), "Message-ID", NS.imdnHeaders)).toBe("id-3");
    // a notice about a message we do not know changes nothing; none is shown as a message
    t.deliver({ from: BOB, contentType: "message/cpim", body: notice("nope", "failed") });
    expect(m.getSnapshot().conversations[BOB].messages.map((x) => x.state)).toEqual(["delivered", "delivered"]);
  });

  it("IMDN: a received message asking for positive delivery is answered with a delivered notice to its sender, once", () => {
    const t = new FakeTransport();
    const m = new InstantMessenger({ transport: t, self: ALICE, newMessageId: ids() });
    const seen: string[] = [];
    m.onIncoming((peer, msg) => seen.push(`${peer}:${msg.text}`));
    t.deliver({ from: BOB, contentType: "message/cpim", body: fromPeer(BOB, ALICE, "b-1", "hello") });
    t.deliver({ from: BOB, contentType: "message/cpim", body: fromPeer(BOB, ALICE, "b-1", "hello") }); // the same message again
    t.deliver({ from: BOB, contentType: "message/cpim", body: fromPeer(BOB, ALICE, "b-2", "no ack wanted", "negative-delivery") });
    expect(seen).toEqual([`${BOB}:hello`, `${BOB}:no ack wanted`]);
    expect(t.sent).toHaveLength(1);
    expect([t.sent[0].target, t.sent[0].contentType]).toEqual([BOB, "message/cpim"]);
    const wrapper = parseCpim(t.sent[0].body);
    expect(wrapper.contentHeaders).toContainEqual({ name: "Content-Disposition", value: "notification" });
    expect(parseImdn(wrapper.body)).toMatchObject({ messageId: "b-1", kind: "delivery", status: "delivered", dateTime: "2026-03-01T08:00:00.000Z" });
  });

  it("copies: a CPIM message From ourselves To a peer joins that conversation as sent from another device, read, unanswered; known ones are not repeated", () => {
    const t = new FakeTransport();
    const m = new InstantMessenger({ transport: t, self: ALICE, newMessageId: ids() });
    const seen: string[] = [];
    m.onIncoming((peer) => seen.push(peer));
    t.deliver({ from: ALICE, contentType: "message/cpim", body: fromPeer(ALICE, BOB, "a-1", "from my phone") });
    t.deliver({ from: ALICE, contentType: "message/cpim", body: fromPeer(ALICE, BOB, "a-1", "from my phone") });
    const c = m.getSnapshot().conversations[BOB];
    expect(c.messages.map((x) => [x.direction, x.text, x.state, x.messageId])).toEqual([["out", "from my phone", "elsewhere", "a-1"]]);
    expect([c.unread, seen, t.sent]).toEqual([0, [], []]);
    // bob's notice reaches every device of ours: the copy shows delivered too
    t.deliver({ from: BOB, contentType: "message/cpim", body: notice("a-1", "delivered") });
    expect(m.getSnapshot().conversations[BOB].messages[0].state).toBe("delivered");
    // history holding the same message (by Message-ID) adds nothing
    m.loadHistory(BOB, [{ id: "h9", direction: "out", text: "from my phone", date: 1, messageId: "a-1" }]);
    expect(m.getSnapshot().conversations[BOB].messages).toHaveLength(1);
  });

  it("unread counts from the server raise a conversation's count (never add to it), not while it is being read", () => {
    const t = new FakeTransport();
    const m = new InstantMessenger({ transport: t });
    t.deliver({ from: BOB, contentType: "text/plain", body: "live" });
    m.setReading("sip:carol@example.test", true);
    m.setUnreadCounts({ [BOB]: 3, "sip:carol@example.test": 2, "sip:dave@example.test": 1 });
    m.setUnreadCounts({ [BOB]: 1 });
    const s = m.getSnapshot();
    expect([s.conversations[BOB].unread, s.conversations["sip:carol@example.test"]?.unread ?? 0, s.conversations["sip:dave@example.test"].unread, s.totalUnread]).toEqual([3, 0, 1, 4]);
  });

  it("a peer refusing message/cpim (415) gets the text as text/plain at once, and plain text from then on", async () => {
    const t = new FakeTransport();
    const send = t.send.bind(t);
    t.send = async (target, body, contentType) => {
      await send(target, body, contentType);
      return { status: contentType === "message/cpim" ? 415 : 200 };
    };
    const m = new InstantMessenger({ transport: t, self: ALICE, newMessageId: ids() });
    expect((await m.send(BOB, "first")).state).toBe("delivered");
    expect((await m.send(BOB, "second")).state).toBe("delivered");
    expect(t.sent.map((x) => [x.contentType, x.contentType === "text/plain" ? x.body : "cpim"])).toEqual([
      ["message/cpim", "cpim"],
      ["text/plain", "first"],
      ["text/plain", "second"],
    ]);
  });
});
