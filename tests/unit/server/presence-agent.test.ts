/** Presence package and notifier on fake time, without sockets: rate limit, expiry, authorization. */
import { describe, expect, it } from "vitest";
import { MemoryAccountDirectory, PresenceServer, type InternalNotification } from "@/lib/server";
import { MemoryXcapStore, computeEtag } from "@/lib/xcap/server";
import { createRequest, type SipConnection } from "@/lib/sip";
import { FakeClock } from "./fake-timers";

const ALICE = "sip:alice@example.test";
const BOB = "sip:bob@example.test";

async function server(opts: { interval?: number } = {}) {
  const clock = new FakeClock();
  const store = new MemoryXcapStore();
  const accounts = new MemoryAccountDirectory().addDomain("example.test").addAccount("alice", "example.test", "pw").addAccount("bob", "example.test", "pw");
  const s = new PresenceServer({ listen: {}, accounts, xcap: { store }, now: clock.now, timers: clock, notifyIntervalMs: opts.interval ?? 0, publish: { minExpires: 1 } });
  const rules = `<cr:ruleset xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy"><cr:rule id="a"><cr:conditions><cr:identity><cr:one id="sip%3Abob%40example.test"/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule></cr:ruleset>`;
  await store.put({ auid: "org.openmobilealliance.pres-rules", scope: "users", xui: ALICE, docPath: "index" }, { content: rules, etag: await computeEtag(rules) }, null);
  return { s, clock };
}

const conn = { id: "c1", transport: "TCP", remoteAddress: "127.0.0.1", remotePort: 1, localAddress: "127.0.0.1", localPort: 2 } as unknown as SipConnection;

function publish(body: string, opts: { etag?: string; expires?: number } = {}) {
  return createRequest({
    method: "PUBLISH",
    uri: ALICE,
    from: `<${ALICE}>`,
    to: `<${ALICE}>`,
    via: { transport: "TCP", host: "127.0.0.1", port: 1 },
    headers: [["Event", "presence"], ["Expires", String(opts.expires ?? 60)], ...(opts.etag ? ([["SIP-If-Match", opts.etag]] as Array<[string, string]>) : [])],
    body,
    contentType: "application/pidf+xml",
  });
}
const doc = (note: string) => `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${ALICE}"><tuple id="t"><status><basic>open</basic></status><note>${note}</note></tuple></presence>`;
const flush = () => new Promise((r) => setImmediate(r));

describe("presence agent on fake time", () => {
  it("rate-limits per presentity: leading NOTIFY, then one trailing NOTIFY with the final state", async () => {
    const { s, clock } = await server({ interval: 5000 });
    const seen: InternalNotification[] = [];
    await s.subscribeInternal(BOB, ALICE, (n) => seen.push(n));
    expect(seen.map((n) => n.status)).toEqual(["active"]);
    let etag = s.presence.publish(publish(doc("n0")), ALICE).getHeader("SIP-ETag");
    await flush();
    expect(seen).toHaveLength(2);
    for (let i = 1; i <= 5; i++) etag = s.presence.publish(publish(doc(`n${i}`), { etag }), ALICE).getHeader("SIP-ETag");
    await flush();
    expect(seen).toHaveLength(2); // inside the window
    const compositions = s.presence.compositions;
    clock.advance(5000);
    await flush();
    await flush();
    expect(seen).toHaveLength(3);
    expect(seen[2].body?.body.toString()).toContain("n5");
    expect(s.presence.compositions).toBe(compositions + 1);
  });

  it("composes nothing for a PUBLISH nobody watches; a watcher that joins later still gets every change", async () => {
    const { s } = await server();
    const first: InternalNotification[] = [];
    const w0 = await s.subscribeInternal(BOB, ALICE, (n) => first.push(n));
    let etag = s.presence.publish(publish(doc("A")), ALICE).getHeader("SIP-ETag");
    await flush();
    expect(first.at(-1)?.body?.body.toString()).toContain(">A<");
    w0.close();
    await flush();
    const compositions = s.presence.compositions;
    etag = s.presence.publish(publish(doc("B"), { etag }), ALICE).getHeader("SIP-ETag");
    await flush();
    expect(s.presence.compositions).toBe(compositions);
    const seen: InternalNotification[] = [];
    await s.subscribeInternal(BOB, ALICE, (n) => seen.push(n));
    await flush();
    expect(seen.at(-1)?.body?.body.toString()).toContain(">B<");
    // back to what the last round before B carried: still news to this watcher
    s.presence.publish(publish(doc("A"), { etag }), ALICE);
    await flush();
    await flush();
    expect(seen.at(-1)?.body?.body.toString()).toContain(">A<");
  });

  it("expires publications on time and notifies closed", async () => {
    const { s, clock } = await server();
    const seen: InternalNotification[] = [];
    await s.subscribeInternal(BOB, ALICE, (n) => seen.push(n));
    const res = s.presence.publish(publish(doc("soon gone"), { expires: 30 }), ALICE);
    expect(res.getHeader("Expires")).toBe("30");
    await flush();
    expect(seen.at(-1)?.body?.body.toString()).toContain("soon gone");
    clock.advance(29_000);
    await flush();
    expect(s.presence.publicationCount).toBe(1);
    clock.advance(1_500);
    await flush();
    await flush();
    expect(s.presence.publicationCount).toBe(0);
    expect(seen.at(-1)?.body?.body.toString()).not.toContain("soon gone");
    expect(seen.at(-1)?.body?.body.toString()).toContain("<basic>closed</basic>");
  });

  it("shares one body per permission set across watchers", async () => {
    const { s } = await server();
    const a: InternalNotification[] = [];
    const b: InternalNotification[] = [];
    await s.subscribeInternal(BOB, ALICE, (n) => a.push(n));
    await s.subscribeInternal(BOB, ALICE, (n) => b.push(n));
    s.presence.publish(publish(doc("shared")), ALICE);
    await flush();
    await flush();
    expect(a.at(-1)?.body?.body).toBe(b.at(-1)?.body?.body); // the same Buffer
  });

  it("registrar: 423 below the minimum, GRUU only with Supported: gruu, bindings expire", async () => {
    const { s, clock } = await server();
    const reg = (contact: string, expires: number, supported?: string) =>
      createRequest({
        method: "REGISTER",
        uri: "sip:example.test",
        from: `<${ALICE}>`,
        to: `<${ALICE}>`,
        callId: "reg-1",
        cseq: clock.t % 100000,
        via: { transport: "TCP", host: "127.0.0.1", port: 1 },
        contact,
        headers: [["Expires", String(expires)], ...(supported ? ([["Supported", supported]] as Array<[string, string]>) : [])],
      });
    expect(() => s.registrar.register(reg("<sip:a@10.0.0.1:5060;transport=tcp>", 5), ALICE, conn)).toThrow(/Interval Too Brief/);
    const inst = '<sip:a@10.0.0.1:5060;transport=tcp>;+sip.instance="<urn:uuid:1>"';
    const plain = s.registrar.register(reg(inst, 120), ALICE, conn);
    expect(plain.getHeader("Contact")).not.toContain("pub-gruu");
    clock.t += 1;
    const gr = s.registrar.register(reg(inst, 120, "gruu"), ALICE, conn);
    expect(gr.getHeader("Contact")).toContain(`pub-gruu="${ALICE};gr=urn:uuid:1"`);
    expect(s.registrar.findByContact(ALICE, "sip:a@10.0.0.1:5060;transport=tcp")?.connectionId).toBe("c1");
    expect(s.registrar.findByContact("sip:bob@example.test", "sip:a@10.0.0.1:5060;transport=tcp")).toBeUndefined(); // only the AOR's own bindings
    clock.advance(121_000);
    expect(s.registrar.bindingsOf(ALICE)).toHaveLength(0);
  });
});
