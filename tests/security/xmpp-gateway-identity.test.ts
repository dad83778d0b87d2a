/**
 * The XMPP gateway's door: identities in XMPP domains are believed only on an in-process flow
 * opened with `asserts` (the gateway's own, whose XMPP server authenticated them), only for the
 * identities it vouches for, and only for SUBSCRIBE. A SIP client anywhere else claiming
 * `sip:bob@xmpp.example` is challenged and refused as before.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startServer } from "../integration/server/harness";
import { SipTestClient } from "../helpers/sip-client";

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const vouchesForXmpp = (aor: string) => aor.endsWith("@xmpp.example");

describe("XMPP gateway identities", () => {
  it("a SUBSCRIBE from sip:bob@xmpp.example over TCP is challenged, then refused", async () => {
    const { server, port } = await startServer();
    cleanup.push(() => server.stop());
    const bob = await SipTestClient.connect({ host: "127.0.0.1", port, user: "bob", domain: "xmpp.example", password: "guess-1234" });
    cleanup.push(() => bob.close());
    const r = await bob.subscribe("sip:alice@example.test");
    expect(r.response.status).toBe(403); // not a served domain: no credentials can prove it
    expect([...server.notifier.all()]).toHaveLength(0);
  });

  it("a bridge-style flow (no asserts) claiming an XMPP identity is refused", async () => {
    const { server } = await startServer();
    cleanup.push(() => server.stop());
    const bob = await SipTestClient.connect({ host: "127.0.0.1", port: 0, user: "bob", domain: "xmpp.example", stream: () => server.transport.openFlow({ owner: "sip:alice@example.test" }) });
    cleanup.push(() => bob.close());
    expect((await bob.subscribe("sip:alice@example.test")).response.status).toBe(403);
  });

  it("the gateway's flow vouches for its XMPP domains' SUBSCRIBEs only", async () => {
    const { server } = await startServer();
    cleanup.push(() => server.stop());
    const flow = () => server.transport.openFlow({ asserts: vouchesForXmpp });
    const bob = await SipTestClient.connect({ host: "127.0.0.1", port: 0, user: "bob", domain: "xmpp.example", stream: flow });
    cleanup.push(() => bob.close());
    const ok = await bob.subscribe("sip:alice@example.test");
    expect(ok.response.status).toBe(200);
    expect([...server.notifier.all()].map((s) => s.watcher)).toEqual(["sip:bob@xmpp.example"]);
    // the same flow does not vouch for a served domain's user: digest as for anybody
    const carol = await SipTestClient.connect({ host: "127.0.0.1", port: 0, user: "carol", domain: "example.test", password: "wrong-password-1", stream: flow });
    cleanup.push(() => carol.close());
    expect([403, 407]).toContain((await carol.subscribe("sip:alice@example.test")).response.status);
    // nor for anything but SUBSCRIBE
    expect((await bob.publish(`<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@xmpp.example"/>`)).status).toBeGreaterThanOrEqual(400);
  });
});
