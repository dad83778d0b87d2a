/** SIP MESSAGE (RFC 3428) through the embedded server over real TCP: delivery, offline queue, im-rules, bounds. */
import { afterEach, describe, expect, it } from "vitest";
import { composeIsComposing, cpimHeader, createCpim, imdnCpim, parseCpim, parseImdn, serializeCpim } from "@/lib/im";
import { ImAuthorizer, InstantMessaging, MemoryMessageStore, type InstantMessagingOptions } from "@/lib/server/message";
import type { SipTestClient } from "../../helpers/sip-client";
import { waitFor } from "../../helpers/wait";
import { DOMAIN, PASSWORD, XcapFixture, client, startServer } from "./harness";

const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
const CAROL = `sip:carol@${DOMAIN}`;
const RULES_NS = `xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:im="urn:iptel:xml:ns:im-rules"`;

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(options: Partial<InstantMessagingOptions> = {}) {
  const xcap = new XcapFixture();
  const { server, port } = await startServer({}, xcap);
  const store = new MemoryMessageStore();
  const im = new InstantMessaging({ server, store, xcap: { store: xcap.store, subscribe: xcap.subscribe }, ...options });
  im.start();
  cleanup.push(() => server.stop(), () => im.stop());
  const ua = async (user: string, extra: Parameters<typeof client>[2] = {}) => {
    const c = await client(port, user, extra);
    cleanup.push(() => c.close());
    return c;
  };
  return { server, port, store, im, xcap, ua };
}

async function registered(ua: (u: string) => Promise<SipTestClient>, user: string): Promise<SipTestClient> {
  const c = await ua(user);
  expect((await c.register()).status).toBe(200);
  return c;
}

describe("MESSAGE delivery", () => {
  it("challenges the sender, delivers to every registered device of the recipient with From and Date, keeps history", async () => {
    const { ua, store } = await setup();
    const phone = await registered(ua, "bob");
    const laptop = await registered(ua, "bob");
    const alice = await ua("alice");
    const first = await alice.sendRequest(alice.build("MESSAGE", BOB, { body: "hi", contentType: "text/plain", contact: false }));
    expect(first.status).toBe(407); // authenticated senders only, as PUBLISH/SUBSCRIBE
    const r = await alice.message(BOB, "hello bob");
    expect(r.status).toBe(200);
    for (const dev of [phone, laptop]) {
      const m = await waitFor(() => dev.messages()[0], { what: "MESSAGE at a device" });
      expect(m.from.uri.toString()).toBe(ALICE);
      expect(m.body.toString()).toBe("hello bob");
      expect(Date.parse(m.getHeader("Date") ?? "")).toBeGreaterThan(0);
      expect(m.getHeader("Proxy-Authorization")).toBeUndefined(); // credentials stay with Herald
    }
    await waitFor(() => store.rows.length === 1, { what: "history row" });
    expect(store.rows[0]).toMatchObject({ sender: ALICE, recipient: BOB, body: "hello bob", pending: false, history: true });
    expect(await store.conversation(BOB, ALICE, { limit: 10 })).toHaveLength(1);
  });

  it("refuses a From other than the authenticated identity (403) and an unknown recipient (404)", async () => {
    const { ua, store } = await setup();
    await registered(ua, "bob");
    const spoof = await ua("carol", { authUser: "alice" }); // alice's credentials, From carol
    expect((await spoof.message(BOB, "I am carol")).status).toBe(403);
    const alice = await ua("alice");
    expect((await alice.message(`sip:nobody@${DOMAIN}`, "x")).status).toBe(404);
    expect((await alice.message("sip:bob@elsewhere.test", "x")).status).toBe(404);
    expect(store.rows).toHaveLength(0);
  });

  it("stores a message for a user with no device (202) and delivers it on the next registration with its original Date, in order", async () => {
    const { ua, store } = await setup();
    const alice = await ua("alice");
    const dates = ["Mon, 01 Jun 2026 10:00:00 GMT", "Mon, 01 Jun 2026 10:00:05 GMT", "Mon, 01 Jun 2026 10:00:09 GMT"];
    for (const [i, d] of dates.entries()) expect((await alice.message(CAROL, `offline ${i}`, { headers: [["Date", d]] })).status).toBe(202);
    expect(store.rows.filter((r) => r.pending)).toHaveLength(3);
    const carol = await registered(ua, "carol");
    await waitFor(() => carol.messages().length === 3, { what: "three stored messages" });
    expect(carol.messages().map((m) => m.body.toString())).toEqual(["offline 0", "offline 1", "offline 2"]);
    expect(carol.messages().map((m) => m.getHeader("Date"))).toEqual(dates);
    expect(carol.messages()[0].from.uri.toString()).toBe(ALICE);
    await waitFor(async () => (await store.countPending(CAROL)) === 0, { what: "queue emptied" });
    expect(store.rows.every((r) => r.history)).toBe(true);
  });

  it("bounds the offline queue per user (480 beyond), and keeps a stored message the device refuses", async () => {
    const { ua, store } = await setup({ maxPendingPerUser: 2 });
    const alice = await ua("alice");
    expect((await alice.message(CAROL, "1")).status).toBe(202);
    expect((await alice.message(CAROL, "2")).status).toBe(202);
    const full = await alice.message(CAROL, "3");
    expect(full.status).toBe(480);
    expect(full.reason).toBe("Offline Storage Full");
    expect(store.rows).toHaveLength(2);
    const carol = await ua("carol", { messageResponse: 500 });
    expect((await carol.register()).status).toBe(200);
    await waitFor(() => carol.messages().length === 1, { what: "first stored message offered" });
    expect(await store.countPending(CAROL)).toBe(2); // refused: kept, and the second waits behind it
  });

  it("a device that does not answer counts as unreachable: stored, 202", async () => {
    const { ua, store } = await setup({ deliveryTimeoutMs: 300 });
    const bob = await ua("bob", { messageResponse: 0 });
    expect((await bob.register()).status).toBe(200);
    const alice = await ua("alice");
    expect((await alice.message(BOB, "are you there?")).status).toBe(202);
    expect(store.rows[0]).toMatchObject({ pending: true, body: "are you there?" });
  });

  it("passes on the best final error when every device refuses, storing nothing", async () => {
    const { ua, store } = await setup();
    const bob = await ua("bob", { messageResponse: 486 });
    expect((await bob.register()).status).toBe(200);
    const alice = await ua("alice");
    expect((await alice.message(BOB, "busy?")).status).toBe(486);
    expect(store.rows).toHaveLength(0);
  });
});

describe("MESSAGE bodies", () => {
  it("413 beyond the size limit, 415 (with Accept) for other types; nothing stored or delivered", async () => {
    const { ua, store } = await setup({ maxBodyBytes: 100 });
    const bob = await registered(ua, "bob");
    const alice = await ua("alice");
    expect((await alice.message(BOB, "x".repeat(101))).status).toBe(413);
    expect((await alice.message(BOB, "x".repeat(100))).status).toBe(200);
    const r = await alice.message(BOB, "{}", { contentType: "application/json" });
    expect(r.status).toBe(415);
    expect(r.getHeaders("Accept").join(", ")).toBe("text/plain, message/cpim, application/im-iscomposing+xml");
    expect((await alice.message(BOB, "x", { contentType: "not a type" })).status).toBe(400); // a malformed header, refused by the parser
    await waitFor(() => store.rows.length === 1);
    expect(bob.messages()).toHaveLength(1);
  });

  it("message/cpim: delivered; a CPIM From that is not the sender 403; malformed 400; other inner types 415", async () => {
    const { ua, store } = await setup();
    const bob = await registered(ua, "bob");
    const alice = await ua("alice");
    const cpim = (from: string, contentType = "text/plain", body = "hi") => serializeCpim(createCpim({ from: { uri: from }, to: { uri: BOB }, contentType, body }));
    expect((await alice.message(BOB, cpim("im:alice@example.test"), { contentType: "message/cpim" })).status).toBe(200);
    expect((await alice.message(BOB, cpim("sip:carol@example.test"), { contentType: "message/cpim" })).status).toBe(403);
    expect((await alice.message(BOB, "From: <sip:alice@example.test>\r\n", { contentType: "message/cpim" })).status).toBe(400);
    expect((await alice.message(BOB, cpim(ALICE, "text/html", "<b>x</b>"), { contentType: "message/cpim" })).status).toBe(415);
    await waitFor(() => store.rows.length === 1);
    expect(bob.messages()).toHaveLength(1);
  });

  it("is-composing and IMDN pass between online users and are kept out of history; is-composing is never stored (480)", async () => {
    const { ua, store } = await setup();
    const bob = await registered(ua, "bob");
    const alice = await ua("alice");
    expect((await alice.message(BOB, composeIsComposing({ state: "active", refresh: 60 }), { contentType: "application/im-iscomposing+xml" })).status).toBe(200);
    expect((await alice.message(BOB, "<isComposing", { contentType: "application/im-iscomposing+xml" })).status).toBe(400);
    const notice = imdnCpim({ from: ALICE, to: BOB, notificationId: "n1", notification: { messageId: "m1", dateTime: new Date().toISOString(), kind: "delivery", status: "delivered" } });
    expect((await alice.message(BOB, serializeCpim(notice), { contentType: "message/cpim" })).status).toBe(200);
    await waitFor(() => bob.messages().length === 2);
    expect(bob.messages()[1].body.toString()).toContain("<delivered/>");
    expect((await alice.message(CAROL, composeIsComposing({ state: "active" }), { contentType: "application/im-iscomposing+xml" })).status).toBe(480);
    // an IMDN for an offline user waits in the queue (not in history)
    expect((await alice.message(CAROL, serializeCpim(notice), { contentType: "message/cpim" })).status).toBe(202);
    expect(store.rows).toEqual([expect.objectContaining({ recipient: CAROL, pending: true, history: false })]);
  });
});

describe("im-rules", () => {
  it("no document: users of the served domains may message; a blocked sender gets 403 and nothing is stored or delivered", async () => {
    const { ua, store, xcap } = await setup();
    const bob = await registered(ua, "bob");
    const alice = await ua("alice");
    const carol = await ua("carol");
    expect((await alice.message(BOB, "before rules")).status).toBe(200);
    await xcap.put(BOB, "im-rules", `<ruleset ${RULES_NS}><rule id="friends"><conditions><identity><many><except id="${ALICE}"/></many></identity></conditions><actions><im:im-handling>allow</im:im-handling></actions></rule></ruleset>`);
    const blocked = await alice.message(BOB, "after rules");
    expect(blocked.status).toBe(403);
    expect((await alice.message(`sip:bob@${DOMAIN}`, "offline too")).status).toBe(403);
    expect((await carol.message(BOB, "carol may")).status).toBe(200);
    await waitFor(() => store.rows.length === 2);
    expect(store.rows.map((r) => r.body)).toEqual(["before rules", "carol may"]);
    expect(bob.messages().map((m) => m.body.toString())).toEqual(["before rules", "carol may"]);
    // a blocked sender is refused while the recipient is offline too: nothing queued
    await xcap.put(CAROL, "im-rules", `<ruleset ${RULES_NS}/>`);
    expect((await alice.message(CAROL, "queued?")).status).toBe(403);
    expect(await store.countPending(CAROL)).toBe(0);
    // the rules document goes: back to the default
    await xcap.remove(BOB, "im-rules");
    expect((await alice.message(BOB, "again")).status).toBe(200);
  });

  it("OMA external-list conditions read the recipient's resource lists and follow their changes", async () => {
    const { ua, xcap } = await setup();
    await registered(ua, "bob");
    const alice = await ua("alice");
    const anchor = `https://xcap.example.test/xcap-root/resource-lists/users/${BOB}/index/~~/resource-lists/list%5B@name=%22friends%22%5D`;
    const list = (uris: string[]) => `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="friends">${uris.map((u) => `<entry uri="${u}"/>`).join("")}</list></resource-lists>`;
    await xcap.put(BOB, "resource-lists", list([CAROL]));
    await xcap.put(BOB, "im-rules", `<ruleset ${RULES_NS} xmlns:ocp="urn:oma:xml:xdm:common-policy"><rule id="l"><conditions><ocp:external-list><ocp:entry anc="${anchor}"/></ocp:external-list></conditions><actions><im:im-handling>allow</im:im-handling></actions></rule></ruleset>`);
    expect((await alice.message(BOB, "1")).status).toBe(403);
    await xcap.put(BOB, "resource-lists", list([CAROL, ALICE]));
    expect((await alice.message(BOB, "2")).status).toBe(200);
  });

  it("a user may always message their own other devices", async () => {
    const { ua, xcap } = await setup();
    const other = await registered(ua, "alice");
    await xcap.put(ALICE, "im-rules", `<ruleset ${RULES_NS}/>`);
    const alice = await ua("alice", { password: PASSWORD });
    expect((await alice.message(ALICE, "note to self")).status).toBe(200);
    await waitFor(() => other.messages().length === 1);
  });
});

describe("history writes", () => {
  it("delivered messages reach the history in one batched write; stop() writes what is pending", async () => {
    const { ua, store, im } = await setup({ historyFlushMs: 60_000 });
    const batches: number[] = [];
    const addMany = store.addMany.bind(store);
    store.addMany = async (rows) => {
      batches.push(rows.length);
      await addMany(rows);
    };
    await registered(ua, "bob");
    const alice = await ua("alice");
    for (const t of ["one", "two", "three"]) expect((await alice.message(BOB, t)).status).toBe(200);
    expect(store.rows).toHaveLength(0); // not yet: written behind
    await im.stop();
    expect(batches).toEqual([3]);
    expect(store.rows.map((r) => r.body)).toEqual(["one", "two", "three"]);
  });
});

describe("retention", () => {
  it("drops history and undelivered messages past their retention", async () => {
    let now = Date.parse("2026-06-01T00:00:00Z");
    const { ua, store, im } = await setup({ now: () => now, historyRetentionMs: 10 * 86_400_000, pendingRetentionMs: 86_400_000 });
    await registered(ua, "bob");
    const alice = await ua("alice");
    expect((await alice.message(BOB, "old", { headers: [["Date", new Date(now).toUTCString()]] })).status).toBe(200);
    expect((await alice.message(CAROL, "queued", { headers: [["Date", new Date(now).toUTCString()]] })).status).toBe(202);
    await waitFor(() => store.rows.length === 2);
    now += 2 * 86_400_000;
    await im.prune();
    expect(store.rows.map((r) => [r.body, r.pending]).sort()).toEqual([["old", false], ["queued", false]]); // no longer queued, still history
    now += 10 * 86_400_000;
    await im.prune();
    expect(store.rows).toHaveLength(0);
  });
});

describe("im-rules sphere (RFC 4745 §7.2)", () => {
  const pidf = (sphere: string) =>
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${BOB}"><tuple id="t1"><status><basic>open</basic></status></tuple><dm:person id="p1"><rpid:sphere><rpid:${sphere}/></rpid:sphere></dm:person></presence>`;

  it("a sphere condition holds while the recipient's published sphere is one of its values, and follows each PUBLISH", async () => {
    const { ua, xcap } = await setup();
    const bob = await registered(ua, "bob");
    const alice = await ua("alice");
    await xcap.put(BOB, "im-rules", `<ruleset ${RULES_NS}><rule id="at-work"><conditions><sphere value="work"/></conditions><actions><im:im-handling>allow</im:im-handling></actions></rule></ruleset>`);
    expect((await alice.message(BOB, "nothing published")).status).toBe(403);
    const first = await bob.publish(pidf("work"));
    expect(first.status).toBe(200);
    expect((await alice.message(BOB, "at work")).status).toBe(200);
    expect((await bob.publish(pidf("home"), { etag: first.getHeader("SIP-ETag") })).status).toBe(200);
    expect((await alice.message(BOB, "at home")).status).toBe(403);
    await waitFor(() => bob.messages().length === 1);
    expect(bob.messages().map((m) => m.body.toString())).toEqual(["at work"]);
  });
});

describe("delivery notifications (IMDN, RFC 5438)", () => {
  const text = (from: string, to: string, messageId: string) =>
    serializeCpim(
      createCpim({
        from: { uri: from },
        to: { uri: to },
        extraHeaders: [
          { name: "NS", value: "imdn <urn:ietf:params:imdn>" },
          { name: "imdn.Message-ID", value: messageId },
          { name: "imdn.Disposition-Notification", value: "positive-delivery" },
        ],
        contentType: "text/plain",
        body: "needs an answer",
      }),
    );
  const notice = (from: string, to: string, about: string) =>
    serializeCpim(imdnCpim({ from, to, notificationId: `n-${about}`, notification: { messageId: about, dateTime: new Date().toISOString(), kind: "delivery", status: "delivered" } }));

  it("a notification about a message its recipient sent passes the recipient's im-rules; any other is refused", async () => {
    const { ua, xcap, store } = await setup();
    const aliceDevice = await registered(ua, "alice");
    await xcap.put(ALICE, "im-rules", `<ruleset ${RULES_NS}/>`); // alice accepts messages from nobody
    const bob = await registered(ua, "bob");
    const alice = await ua("alice");
    expect((await alice.message(BOB, text(ALICE, BOB, "m-1"), { contentType: "message/cpim" })).status).toBe(200);
    await waitFor(() => bob.messages().length === 1);
    // bob's IMDN about m-1 reaches alice although her rules block him (the history row is written behind: not yet flushed)
    expect((await bob.message(ALICE, notice(BOB, ALICE, "m-1"), { contentType: "message/cpim" })).status).toBe(200);
    const got = await waitFor(() => aliceDevice.messages().find((m) => m.body.toString().includes("<delivered/>")), { what: "IMDN at alice" });
    expect(got.body.toString()).toContain("<message-id>m-1</message-id>");
    // about a message alice never sent him, or a text message: blocked
    expect((await bob.message(ALICE, notice(BOB, ALICE, "m-unknown"), { contentType: "message/cpim" })).status).toBe(403);
    expect((await bob.message(ALICE, "plain text")).status).toBe(403);
    // carol received nothing from alice: her notice about m-1 is refused too
    const carol = await ua("carol");
    expect((await carol.message(ALICE, notice(CAROL, ALICE, "m-1"), { contentType: "message/cpim" })).status).toBe(403);
    expect(store.rows.filter((r) => r.recipient === ALICE)).toHaveLength(0);
  });

  it("a notification for a sender who signed out waits in the queue and reaches the next device", async () => {
    const { ua, xcap } = await setup();
    await xcap.put(ALICE, "im-rules", `<ruleset ${RULES_NS}/>`);
    const alice = await ua("alice");
    expect((await alice.message(BOB, text(ALICE, BOB, "m-2"), { contentType: "message/cpim" })).status).toBe(202);
    const bob = await registered(ua, "bob");
    await waitFor(() => bob.messages().length === 1, { what: "stored message delivered" });
    expect((await bob.message(ALICE, notice(BOB, ALICE, "m-2"), { contentType: "message/cpim" })).status).toBe(202);
    const aliceLater = await registered(ua, "alice");
    const n = await waitFor(() => aliceLater.messages()[0], { what: "queued IMDN delivered" });
    expect(n.body.toString()).toContain("<message-id>m-2</message-id>");
  });
});

describe("copies to the sender's other devices", () => {
  it("a text message accepted (200 or 202) goes to the sender's other devices as CPIM From sender To recipient; not to the sending connection, not for typing notices", async () => {
    const { ua } = await setup();
    const tab1 = await registered(ua, "alice");
    const tab2 = await registered(ua, "alice");
    await registered(ua, "bob");
    expect((await tab1.message(BOB, "from tab 1")).status).toBe(200);
    const copy = await waitFor(() => tab2.messages()[0], { what: "copy at the other tab" });
    expect(copy.getHeader("Content-Type")).toBe("message/cpim");
    expect(copy.from.uri.toString()).toBe(ALICE);
    const cpim = parseCpim(copy.body.toString());
    expect([cpimHeader(cpim, "From"), cpimHeader(cpim, "To"), cpim.body]).toEqual([`<${ALICE}>`, `<${BOB}>`, "from tab 1"]);
    expect(cpimHeader(cpim, "Message-ID", "urn:ietf:params:imdn")).toBeTruthy();
    // stored for an offline recipient: copied too; a typing notice is not
    expect((await tab1.message(CAROL, "for carol")).status).toBe(202);
    expect((await tab1.message(BOB, composeIsComposing({ state: "active" }), { contentType: "application/im-iscomposing+xml" })).status).toBe(200);
    await waitFor(() => tab2.messages().length === 2, { what: "second copy" });
    expect(parseCpim(tab2.messages()[1].body.toString()).body).toBe("for carol");
    // a CPIM message is passed on as written
    const written = serializeCpim(createCpim({ from: { uri: ALICE }, to: { uri: BOB }, contentType: "text/plain", body: "cpim from tab 2" }));
    expect((await tab2.message(BOB, written, { contentType: "message/cpim" })).status).toBe(200);
    const third = await waitFor(() => tab1.messages()[0], { what: "copy at tab 1" });
    expect(third.body.toString()).toBe(written);
    expect(tab1.messages()).toHaveLength(1);
    expect(tab2.messages()).toHaveLength(2);
  });
});

describe("offline queue count", () => {
  it("is read from the store once per recipient, then followed in memory; the bound still holds after deliveries", async () => {
    const { ua, store } = await setup({ maxPendingPerUser: 3 });
    let counts = 0;
    const countPending = store.countPending.bind(store);
    store.countPending = async (r) => {
      counts++;
      return countPending(r);
    };
    const alice = await ua("alice");
    for (const t of ["1", "2", "3"]) expect((await alice.message(CAROL, t)).status).toBe(202);
    expect((await alice.message(CAROL, "4")).status).toBe(480);
    expect(counts).toBe(1);
    const carol = await registered(ua, "carol");
    await waitFor(() => carol.messages().length === 3, { what: "queue delivered" });
    await waitFor(async () => (await countPending(CAROL)) === 0, { what: "queue empty" });
    expect((await carol.register(0)).status).toBe(200);
    for (const t of ["5", "6", "7"]) expect((await alice.message(CAROL, t)).status).toBe(202);
    expect((await alice.message(CAROL, "8")).status).toBe(480);
  });
});

describe("negative delivery notifications", () => {
  it("a stored message that expires unread gets a failed notification to its sender when it asked for negative-delivery (stored while the sender is away)", async () => {
    let now = Date.parse("2026-06-01T00:00:00Z");
    const { ua, store, im } = await setup({ now: () => now, pendingRetentionMs: 86_400_000 });
    const alice = await ua("alice");
    const ask = (messageId: string, dispositions: string) =>
      serializeCpim(
        createCpim({
          from: { uri: ALICE },
          to: { uri: CAROL },
          dateTime: new Date(now),
          extraHeaders: [
            { name: "NS", value: "imdn <urn:ietf:params:imdn>" },
            { name: "imdn.Message-ID", value: messageId },
            { name: "imdn.Disposition-Notification", value: dispositions },
          ],
          contentType: "text/plain",
          body: `about ${messageId}`,
        }),
      );
    const date: Array<[string, string]> = [["Date", new Date(now).toUTCString()]];
    expect((await alice.message(CAROL, ask("neg-1", "positive-delivery, negative-delivery"), { contentType: "message/cpim", headers: date })).status).toBe(202);
    expect((await alice.message(CAROL, ask("pos-only", "positive-delivery"), { contentType: "message/cpim", headers: date })).status).toBe(202);
    const device = await registered(ua, "alice");
    now += 2 * 86_400_000;
    await im.prune();
    const n = await waitFor(() => device.messages()[0], { what: "failed notification at alice's device" });
    expect(n.from.uri.toString()).toBe(CAROL);
    const wrapper = parseCpim(n.body.toString());
    expect(parseImdn(wrapper.body)).toMatchObject({ messageId: "neg-1", kind: "delivery", status: "failed", recipientUri: CAROL });
    expect(device.messages()).toHaveLength(1); // none for the message that asked only for positive-delivery
    expect(await store.countPending(CAROL)).toBe(0);
    // alice away: the next one waits in her queue
    expect((await device.register(0)).status).toBe(200);
    expect((await alice.message(CAROL, ask("neg-2", "negative-delivery"), { contentType: "message/cpim", headers: [["Date", new Date(now).toUTCString()]] })).status).toBe(202);
    now += 2 * 86_400_000;
    await im.prune();
    await waitFor(async () => (await store.countPending(ALICE)) === 1, { what: "notification queued for alice" });
  });
});

describe("im-rules cache", () => {
  it("keeps at most rulesCacheEntries recipients, dropping the least recently used; an XCAP change drops that user's at once", async () => {
    const { xcap } = await setup();
    const reads: string[] = [];
    const get = xcap.store.get.bind(xcap.store);
    xcap.store.get = async (key) => {
      if (key.auid === "im-rules") reads.push(key.xui ?? "");
      return get(key);
    };
    const authz = new ImAuthorizer({ store: xcap.store, servesDomain: () => true, maxEntries: 2 });
    const alice = { uri: ALICE, authenticated: true };
    for (const r of [BOB, CAROL, BOB]) await authz.authorize(r, alice); // bob used last: carol is the oldest
    await authz.authorize(`sip:dave@${DOMAIN}`, alice); // evicts carol
    await authz.authorize(BOB, alice);
    await authz.authorize(CAROL, alice);
    expect(reads).toEqual([BOB, CAROL, `sip:dave@${DOMAIN}`, CAROL]);
    await xcap.put(BOB, "im-rules", `<ruleset ${RULES_NS}/>`);
    authz.invalidate({ user: BOB, auid: "im-rules", document: "index", etag: null, previousEtag: null, action: "create", nodeSelector: null });
    expect((await authz.authorize(BOB, alice)).imHandling).toBe("block");
    expect(reads.at(-1)).toBe(BOB);
  });
});
