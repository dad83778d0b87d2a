/**
 * Bridge connections per session user and per client address (ISSUE-11 item 10): one more than
 * the limit is closed at once with 1008 and a reason, a place freed is usable again; and closeUser
 * also reaches an upgrade whose session check was running at that moment (item 9).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { IncomingMessage } from "node:http";
import WebSocket from "ws";
import { createSipBridge, WsClose, type SipBridgeLimits, type SipBridgeOptions } from "@/lib/bridge";
import { startServer, DOMAIN } from "../integration/server/harness";
import { cookieSession } from "../integration/bridge/session-cookie";
import { waitFor } from "../helpers/wait";
import { bridgeClientAddress } from "@/lib/cli/start";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(limits: SipBridgeLimits, extra: Partial<SipBridgeOptions> = {}) {
  const { server } = await startServer();
  cleanups.push(() => server.stop());
  const bridge = createSipBridge({ upstream: { openFlow: (peer) => server.transport.openFlow({ owner: `sip:${peer.aor}`, clientAddress: peer.clientAddress }) }, authenticate: cookieSession(DOMAIN), limits, ...extra });
  cleanups.push(() => bridge.close());
  const { port } = await bridge.listen(0, "127.0.0.1");
  return { bridge, url: `ws://127.0.0.1:${port}/sip` };
}

interface Opened {
  ws: WebSocket;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
}

/** Open a WebSocket as `user`; resolves once it is open (a limit-closed one opens and closes at once). */
function open(url: string, user: string): Promise<Opened> {
  const ws = new WebSocket(url, "sip", { headers: { cookie: `session=${user}` } });
  cleanups.push(() => ws.terminate());
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on("close", (code, reason) => r({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, closed }));
    ws.once("error", reject);
  });
}

describe("bridge connection limits", () => {
  it("closes the connection over the per-user limit with 1008 and a reason; a freed place can be used again", async () => {
    const { bridge, url } = await setup({ maxConnectionsPerUser: 3 });
    const alice = await Promise.all([1, 2, 3].map(() => open(url, "alice")));
    const fourth = await open(url, "alice");
    expect(await fourth.closed).toEqual({ code: WsClose.PolicyViolation, reason: "too many connections for this user" });
    // another user is not counted against alice
    const bob = await open(url, "bob");
    expect(bob.ws.readyState).toBe(WebSocket.OPEN);
    expect(bridge.metrics().upgradesRejected.userLimit).toBe(1);
    expect(alice.every((a) => a.ws.readyState === WebSocket.OPEN)).toBe(true);
    alice[0]!.ws.close();
    await alice[0]!.closed;
    await waitFor(() => bridge.metrics().connectionsOpen === 3, { what: "the closed connection to be gone" });
    const again = await open(url, "alice");
    expect(again.ws.readyState).toBe(WebSocket.OPEN);
  });

  it("closes the connection over the per-address limit with 1008 and a reason, whoever signs in", async () => {
    const { bridge, url } = await setup({ maxConnectionsPerAddress: 2, maxConnectionsPerUser: 10 });
    await open(url, "alice");
    await open(url, "bob");
    const third = await open(url, "carol");
    expect(await third.closed).toEqual({ code: WsClose.PolicyViolation, reason: "too many connections from this address" });
    expect(bridge.metrics().upgradesRejected.addressLimit).toBe(1);
    expect(bridge.metrics().connectionsOpen).toBe(2);
  });

  it("counts by the address the clientAddress option names", async () => {
    const { bridge, url } = await setup({ maxConnectionsPerAddress: 1 }, { clientAddress: (req: IncomingMessage) => String(req.headers["x-test-client"] ?? "none") });
    const a = new WebSocket(url, "sip", { headers: { cookie: "session=alice", "x-test-client": "192.0.2.1" } });
    const b = new WebSocket(url, "sip", { headers: { cookie: "session=bob", "x-test-client": "192.0.2.2" } });
    cleanups.push(() => a.terminate(), () => b.terminate());
    await Promise.all([a, b].map((w) => new Promise((r, j) => (w.once("open", r), w.once("error", j)))));
    await waitFor(() => bridge.metrics().connectionsOpen === 2, { what: "both connections bridged" });
    expect(bridge.metrics().upgradesRejected.addressLimit).toBe(0);
    expect([a.readyState, b.readyState]).toEqual([WebSocket.OPEN, WebSocket.OPEN]);
  });

  it("with the defaults, the 21st connection of one user is closed (20 per user)", async () => {
    const { url } = await setup({});
    for (let i = 0; i < 20; i++) await open(url, "alice");
    const over = await open(url, "alice");
    expect((await over.closed).code).toBe(WsClose.PolicyViolation);
  });
});

describe("closeUser", () => {
  it("closes the user's open connections with 4001 and the reason, and an upgrade being authenticated at that moment", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const base = cookieSession(DOMAIN);
    let slow = false;
    let checking = 0;
    const { bridge, url } = await setup({}, {
      authenticate: async (req) => {
        const s = await base(req);
        if (slow) {
          checking++;
          await gate; // the session was read before the account changed
        }
        return s;
      },
    });
    const first = await open(url, "alice");
    const bob = await open(url, "bob");
    slow = true;
    const pending = open(url, "alice");
    await waitFor(() => checking === 1, { what: "the third upgrade's session check" });
    expect(bridge.closeUser("alice@example.test", "disabled")).toBe(1);
    expect(await first.closed).toEqual({ code: WsClose.SessionEnded, reason: "disabled" });
    release();
    const late = await pending;
    expect(await late.closed).toEqual({ code: WsClose.SessionEnded, reason: "disabled" });
    expect(bob.ws.readyState).toBe(WebSocket.OPEN);
    expect(bridge.metrics().upgradesRejected.sessionEnded).toBe(1);
  });
});

describe("the client address `herald start` gives the bridge", () => {
  const req = (peer: string, xff?: string) => ({ socket: { remoteAddress: peer }, headers: xff ? { "x-forwarded-for": xff } : {} }) as unknown as IncomingMessage;

  it("is the TCP peer, and X-Forwarded-For only when the peer is a trusted proxy", () => {
    const direct = bridgeClientAddress({ TRUSTED_PROXIES: [] });
    expect(direct(req("::ffff:198.51.100.7", "203.0.113.9"))).toBe("198.51.100.7");
    const proxied = bridgeClientAddress({ TRUSTED_PROXIES: ["10.0.0.1"] });
    expect(proxied(req("10.0.0.1", "203.0.113.9"))).toBe("203.0.113.9");
    expect(proxied(req("10.0.0.2", "203.0.113.9"))).toBe("10.0.0.2");
  });
});
