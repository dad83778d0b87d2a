/** The embedded presence server over real TCP sockets: wire-level behaviour of issue 3. */
import { afterEach, describe, expect, it } from "vitest";
import { issueEphemeralCredentials } from "@/lib/sip";
import { parsePidf, parseWatcherInfo } from "@/lib/presence";
import type { PresenceServer } from "@/lib/server";
import { pidf, type SipTestClient } from "../../helpers/sip-client";
import { DOMAIN, SECRET, XcapFixture, allowRules, client, startServer } from "./harness";

const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
const CAROL = `sip:carol@${DOMAIN}`;

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(overrides = {}, xcap?: XcapFixture) {
  const s = await startServer(overrides, xcap);
  cleanup.push(() => s.server.stop());
  return s;
}
async function ua(port: number, user: string, extra = {}): Promise<SipTestClient> {
  const c = await client(port, user, extra);
  cleanup.push(() => c.close());
  return c;
}

/** A server where alice allows bob, and bob's subscription to alice past its first NOTIFY. */
async function bobWatchingAlice(overrides = {}) {
  const xcap = new XcapFixture();
  await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB]));
  const { port } = await setup(overrides, xcap);
  const bob = await ua(port, "bob");
  const { sub } = await bob.subscribe(ALICE);
  await bob.waitForNotify(() => true, { sub });
  return { port, bob, sub };
}

function basicOf(body: Buffer | string): string[] {
  return parsePidf(body.toString()).tuples.map((t) => t.basic ?? "");
}

describe("registrar", () => {
  it("challenges REGISTER with 401 and accepts the digest answer", async () => {
    const { port } = await setup();
    const alice = await ua(port, "alice");
    const first = await alice.sendRequest(alice.build("REGISTER", `sip:${DOMAIN}`, { to: `<${ALICE}>`, headers: [["Expires", "600"]] }));
    expect(first.status).toBe(401);
    expect(first.getHeaders("WWW-Authenticate").join()).toMatch(/Digest realm="example.test".*qop="auth"/);
    const ok = await alice.register(600);
    expect(ok.status).toBe(200);
    const contact = ok.getHeaders("Contact");
    expect(contact).toHaveLength(1);
    expect(contact[0]).toContain(`127.0.0.1:${alice.localPort}`);
    expect(contact[0]).toMatch(/expires=(600|599)/);
  });

  it("rejects a wrong password, a foreign identity and keeps several contacts; un-REGISTER and wildcard", async () => {
    const { port, server } = await setup();
    const bad = await ua(port, "alice", { password: "wrong" });
    expect((await bad.register()).status).toBe(401);
    // bob's credentials for alice's AOR
    const bob = await ua(port, "bob");
    const r = await bob.requestWithAuth(() => {
      const req = bob.build("REGISTER", `sip:${DOMAIN}`, { to: `<${ALICE}>` });
      req.setHeader("From", `<${ALICE}>;tag=x1`);
      return req;
    });
    expect(r.status).toBe(403);
    const alice = await ua(port, "alice");
    expect((await alice.register(600, [], "<sip:alice@10.0.0.1:5099;transport=tcp>;expires=300")).status).toBe(200);
    const two = await alice.register(600);
    expect(two.getHeaders("Contact")).toHaveLength(2);
    expect(server.registrar.bindingsOf(ALICE)).toHaveLength(2);
    const removed = await alice.register(600, [], "<sip:alice@10.0.0.1:5099;transport=tcp>;expires=0");
    expect(removed.getHeaders("Contact")).toHaveLength(1);
    const bad423 = await alice.register(10);
    expect(bad423.status).toBe(423);
    expect(bad423.getHeader("Min-Expires")).toBe("60");
    const wildcard = await alice.register(0, [], "*");
    expect(wildcard.status).toBe(200);
    expect(wildcard.getHeaders("Contact")).toHaveLength(0);
    expect(server.registrar.bindingsOf(ALICE)).toHaveLength(0);
  });

  it("accepts autheph ephemeral credentials and rejects them after expiry", async () => {
    let now = Date.now();
    const { port } = await setup({ now: () => now });
    const creds = issueEphemeralCredentials({ secret: SECRET, user: "alice", ttlSeconds: 60, now });
    const alice = await ua(port, "alice", { authUser: creds.username, password: creds.password });
    expect((await alice.register(600)).status).toBe(200);
    now += 120_000;
    const late = await alice.register(600);
    expect(late.status).toBe(401);
  });

  it("assigns a public GRUU to an instance when the client supports gruu", async () => {
    const { port } = await setup();
    const alice = await ua(port, "alice");
    const inst = "<urn:uuid:00000000-0000-1000-8000-00000000000a>";
    const res = await alice.register(600, [["Supported", "gruu, outbound"]], `${alice.contact};+sip.instance="${inst}";reg-id=1`);
    expect(res.status).toBe(200);
    expect(res.getHeader("Contact")).toContain(`pub-gruu="${ALICE};gr=urn:uuid:00000000-0000-1000-8000-00000000000a"`);
    expect(res.getHeader("Require")).toBe("outbound");
  });
});

describe("PUBLISH and SUBSCRIBE/NOTIFY", () => {
  it("delivers PUBLISH to an allowed watcher, with ETag rules", async () => {
    const xcap = new XcapFixture();
    await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB]));
    const { port } = await setup({}, xcap);
    const alice = await ua(port, "alice");
    const bob = await ua(port, "bob");
    const first = await bob.sendRequest(bob.build("SUBSCRIBE", ALICE, { headers: [["Event", "presence"]] }));
    expect(first.status).toBe(407);
    const { response, sub } = await bob.subscribe(ALICE, { expires: 600 });
    expect(response.status).toBe(200);
    expect(response.getHeader("Expires")).toBe("600");
    const initial = await bob.waitForNotify(() => true, { sub });
    expect(initial.getHeader("Subscription-State")).toMatch(/^active;expires=\d+/);
    expect(initial.getHeader("Event")).toBe("presence");
    expect(basicOf(initial.body)).toEqual(["closed"]);

    const pub = await alice.publish(pidf(ALICE, "open", "at work"));
    expect(pub.status).toBe(200);
    const etag = pub.getHeader("SIP-ETag")!;
    expect(etag).toBeTruthy();
    const n1 = await bob.waitForNotify((n) => n.bodyText.includes("at work"), { sub });
    expect(n1.getHeader("Content-Type")).toBe("application/pidf+xml");
    expect(basicOf(n1.body)).toEqual(["open"]);
    expect(n1.cseq.seq).toBeGreaterThan(initial.cseq.seq);

    // modify, refresh, unknown etag, too brief, bad event, bad type
    const mod = await alice.publish(pidf(ALICE, "open", "lunch"), { etag });
    expect(mod.status).toBe(200);
    const etag2 = mod.getHeader("SIP-ETag")!;
    expect(etag2).not.toBe(etag);
    await bob.waitForNotify((n) => n.bodyText.includes("lunch"), { sub });
    const refreshed = await alice.publish(undefined, { etag: etag2 });
    expect(refreshed.status).toBe(200);
    const etag3 = refreshed.getHeader("SIP-ETag")!;
    expect((await alice.publish(undefined, { etag: etag2 })).status).toBe(412); // replaced by the refresh
    expect((await alice.publish(undefined, { etag: "nope" })).status).toBe(412);
    const brief = await alice.publish(pidf(ALICE, "open"), { expires: 5 });
    expect(brief.status).toBe(423);
    expect(brief.getHeader("Min-Expires")).toBe("60");
    expect((await alice.publish(pidf(ALICE, "open"), { event: "dialog" })).status).toBe(489);
    const t415 = await alice.publish("hello", { contentType: "text/plain" });
    expect(t415.status).toBe(415);
    expect(t415.getHeader("Accept")).toBe("application/pidf+xml");
    expect((await alice.publish(undefined)).status).toBe(400);
    // bob may not publish for alice
    const forged = await bob.requestWithAuth(() => bob.build("PUBLISH", ALICE, { headers: [["Event", "presence"]], body: pidf(ALICE, "open"), contentType: "application/pidf+xml" }));
    expect(forged.status).toBe(403);
    // remove: the watcher sees closed again
    const count = bob.notifies(sub).length;
    const rm = await alice.publish(undefined, { etag: etag3, expires: 0 });
    expect(rm.status).toBe(200);
    const closed = await bob.waitForNotify(() => true, { sub, from: count });
    expect(basicOf(closed.body)).toEqual(["closed"]);

    // unsubscribe: 200 then a final NOTIFY terminated
    const un = await bob.resubscribe(sub!, 0);
    expect(un.status).toBe(200);
    const fin = await bob.waitForNotify((n) => n.getHeader("Subscription-State")!.startsWith("terminated"), { sub });
    expect(fin.getHeader("Subscription-State")).toBe("terminated;reason=timeout");
  });

  it("sends the initial NOTIFY after the 200 in the same write, with the same body whether or not the composition was cached", async () => {
    const xcap = new XcapFixture();
    await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB, CAROL]));
    const { port } = await setup({}, xcap);
    const alice = await ua(port, "alice");
    expect((await alice.publish(pidf(ALICE, "open", "fresh"))).status).toBe(200);
    const bodies: string[] = [];
    for (const user of ["bob", "carol", "bob"]) {
      const w = await ua(port, user);
      const chunks: string[] = [];
      w.socket.on("data", (d: Buffer) => chunks.push(d.toString("latin1")));
      // first watcher after the PUBLISH: composed on demand; the next ones: from the cache
      const { response, sub } = await w.subscribe(ALICE, { expires: 600 });
      expect(response.status).toBe(200);
      const n = await w.waitForNotify(() => true, { sub });
      expect(n.getHeader("Subscription-State")).toMatch(/^active;expires=\d+/);
      bodies.push(n.bodyText);
      if (user === "carol") {
        // the 200 and the NOTIFY left together, the 200 first (RFC 6665 §4.2.1.2)
        const both = chunks.find((c) => c.includes("NOTIFY sip:"));
        expect(both).toBeDefined();
        expect(both!.indexOf("SIP/2.0 200")).toBeGreaterThanOrEqual(0);
        expect(both!.indexOf("SIP/2.0 200")).toBeLessThan(both!.indexOf("NOTIFY sip:"));
      }
    }
    expect(bodies[0]).toContain("fresh");
    expect(new Set(bodies).size).toBe(1);
  });

  it("ends a publication at its expiry with a closed NOTIFY", async () => {
    const { port, bob, sub } = await bobWatchingAlice({ publish: { minExpires: 1 } });
    const alice = await ua(port, "alice");
    await alice.publish(pidf(ALICE, "open", "brief"), { expires: 1 });
    await bob.waitForNotify((n) => n.bodyText.includes("brief"), { sub });
    const count = bob.notifies(sub).length;
    const closed = await bob.waitForNotify(() => true, { sub, from: count, timeoutMs: 5000 });
    expect(basicOf(closed.body)).toEqual(["closed"]);
    expect(closed.bodyText).not.toContain("brief");
  });

  it("adds registration-derived open tuples for devices that do not publish", async () => {
    const { port, bob, sub } = await bobWatchingAlice();
    const alice = await ua(port, "alice");
    await alice.register(600);
    const open = await bob.waitForNotify((n) => basicOf(n.body).includes("open"), { sub });
    expect(open.bodyText).toContain(`127.0.0.1:${alice.localPort}`);
    await alice.register(0);
    await bob.waitForNotify((n) => basicOf(n.body).join() === "closed", { sub, from: bob.notifies(sub).indexOf(open) + 1 });
  });

  it("drops a reg-id binding when its flow closes (RFC 5626), so the device shows closed at once", async () => {
    const { port, bob, sub } = await bobWatchingAlice();
    const alice = await ua(port, "alice");
    const inst = "<urn:uuid:00000000-0000-1000-8000-0000000000f1>";
    await alice.register(600, [["Supported", "outbound"]], `${alice.contact};+sip.instance="${inst}";reg-id=1`);
    const open = await bob.waitForNotify((n) => basicOf(n.body).includes("open"), { sub });
    await alice.close();
    await bob.waitForNotify((n) => basicOf(n.body).join() === "closed", { sub, from: bob.notifies(sub).indexOf(open) + 1, timeoutMs: 5000 });
  });

  it("coalesces a burst into a rate-limited NOTIFY that carries the final state", async () => {
    const { port, bob, sub } = await bobWatchingAlice({ notifyIntervalMs: 300 });
    const alice = await ua(port, "alice");
    let etag: string | undefined;
    for (let i = 1; i <= 10; i++) {
      const r = await alice.publish(pidf(ALICE, "open", `n${i}`), { etag });
      etag = r.getHeader("SIP-ETag");
    }
    await bob.waitForNotify((n) => n.bodyText.includes("n10"), { sub });
    // initial + at most: leading edge + one trailing per window crossed
    expect(bob.notifies(sub).length).toBeLessThan(8);
  });
});

describe("watcher info", () => {
  it("gives the presentity full then partial watcher info, and replays offline watchers", async () => {
    const { port, xcap } = await setup();
    const bob = await ua(port, "bob");
    const b = await bob.subscribe(ALICE, { expires: 600 });
    await bob.waitForNotify(() => true, { sub: b.sub }); // pending: alice is offline
    const alice = await ua(port, "alice");
    const carol = await ua(port, "carol");
    expect((await carol.subscribe(ALICE, { event: "presence.winfo" })).response.status).toBe(403);
    const w = await alice.subscribe(ALICE, { event: "presence.winfo" });
    expect(w.response.status).toBe(200);
    const full = await alice.waitForNotify(() => true, { sub: w.sub });
    expect(full.getHeader("Content-Type")).toBe("application/watcherinfo+xml");
    const info = parseWatcherInfo(full.bodyText);
    expect(info.state).toBe("full");
    expect(info.version).toBe(0);
    expect(info.watcherLists[0].watchers.map((x) => [x.uri, x.status, x.event])).toEqual([[BOB, "pending", "subscribe"]]);
    // approve bob: partial with bob active/approved
    await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB]));
    const partial = await alice.waitForNotify((n) => parseWatcherInfo(n.bodyText).state === "partial", { sub: w.sub });
    const p = parseWatcherInfo(partial.bodyText);
    expect(p.version).toBe(1);
    expect(p.watcherLists[0].watchers.map((x) => [x.uri, x.status, x.event])).toEqual([[BOB, "active", "approved"]]);
    // carol is not in the rules (no catch-all: RFC 5025 default block) → 403, partial rejected
    expect((await carol.subscribe(ALICE)).response.status).toBe(403);
    const p2 = await alice.waitForNotify((n) => n.bodyText.includes(CAROL), { sub: w.sub });
    const cw = parseWatcherInfo(p2.bodyText).watcherLists[0].watchers[0];
    expect([cw.status, cw.event]).toEqual(["terminated", "rejected"]);
  });

  it("keeps a pending watcher whose subscription ended as waiting for the next winfo subscription", async () => {
    const { port } = await setup();
    const bob = await ua(port, "bob");
    const b = await bob.subscribe(ALICE);
    await bob.waitForNotify(() => true, { sub: b.sub });
    await bob.resubscribe(b.sub!, 0);
    await bob.waitForNotify((n) => n.getHeader("Subscription-State")!.startsWith("terminated"), { sub: b.sub });
    const alice = await ua(port, "alice");
    const w = await alice.subscribe(ALICE, { event: "presence.winfo" });
    const full = parseWatcherInfo((await alice.waitForNotify(() => true, { sub: w.sub })).bodyText);
    expect(full.watcherLists[0].watchers.map((x) => [x.uri, x.status])).toEqual([[BOB, "waiting"]]);
  });
});

describe("robustness", () => {
  it("answers malformed requests with 400 and keeps serving", async () => {
    const { port } = await setup();
    const c = await ua(port, "alice");
    const bad = "SUBSCRIBE sip:alice@example.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKx1\r\nFrom: <sip:bob@example.test>;tag=1\r\nTo: <sip:alice@example.test>\r\nCall-ID: a@b\r\nCSeq: 7 SUBSCRIBE\r\nExpires: soon\r\nContent-Length: 0\r\n\r\n";
    c.send(bad);
    const r = await c.waitForStray((x) => x.status === 400 && x.cseq.seq === 7);
    expect(r.status).toBe(400);
    const bad2 = "SUBSCRIBE sip:alice@example.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKx2\r\nFrom: <sip:bob@example.test>;tag=1\r\nTo: <sip:alice@example.test>\r\nCall-ID: a@b\r\nCSeq: 1 SUBSCRIBE\r\nContact: <<<>\r\nEvent: presence\r\nContent-Length: 0\r\n\r\n";
    c.send(bad2);
    await c.waitForStray((x) => x.status === 400 && x.cseq.seq === 1);
    expect((await c.register(600)).status).toBe(200);
  });

  it("refuses unknown events and unknown presentities", async () => {
    const { port } = await setup();
    const bob = await ua(port, "bob");
    const r = await bob.subscribe(ALICE, { event: "dialog" });
    expect(r.response.status).toBe(489);
    expect(r.response.getHeader("Allow-Events")).toContain("presence");
    expect((await bob.subscribe(`sip:nobody@${DOMAIN}`)).response.status).toBe(404);
  });
});

export type { PresenceServer };
