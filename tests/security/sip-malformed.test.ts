/**
 * Malformed and oversized SIP over real TCP (issue 11 items 3 and 11, issue 12 item 4): every
 * request gets a final response or its connection is closed, reason phrases are wire-safe, and
 * the server keeps serving everybody else.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SipError } from "@/lib/sip";
import type { PresenceServer } from "@/lib/server";
import type { SipLogger } from "@/lib/sip";
import { RawSipConnection, rawRequest } from "../helpers/raw-sip";
import { type SipTestClient } from "../helpers/sip-client";
import { DOMAIN, client, startServer } from "../integration/server/harness";

const ALICE = `sip:alice@${DOMAIN}`;

let cleanup: Array<() => Promise<unknown> | unknown> = [];
const rejections: unknown[] = [];
const onRejection = (e: unknown) => rejections.push(e);
beforeEach(() => {
  rejections.length = 0;
  process.on("unhandledRejection", onRejection);
});
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
  process.off("unhandledRejection", onRejection);
  expect(rejections).toEqual([]);
});

async function setup(overrides = {}) {
  const s = await startServer(overrides);
  cleanup.push(() => s.server.stop());
  return s;
}
async function ua(port: number, user: string): Promise<SipTestClient> {
  const c = await client(port, user);
  cleanup.push(() => c.close());
  return c;
}
async function raw(port: number): Promise<RawSipConnection> {
  const c = await RawSipConnection.connect(port);
  cleanup.push(() => c.close());
  return c;
}

let seq = 0;
/** Header lines of a request from alice (without Content-Length). */
function lines(method: string, opts: { uri?: string; omit?: string; extra?: string[]; fromTag?: boolean } = {}): string[] {
  const n = ++seq;
  const all = [
    `${method} ${opts.uri ?? ALICE} SIP/2.0`,
    `Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKmal${n}`,
    `From: <${ALICE}>${opts.fromTag === false ? "" : `;tag=f${n}`}`,
    `To: <${ALICE}>`,
    `Call-ID: malformed-${n}@test`,
    `CSeq: ${n} ${method.split(" ")[0]}`,
    "Max-Forwards: 70",
    ...(opts.extra ?? []),
  ];
  return opts.omit ? all.filter((l) => !l.toLowerCase().startsWith(opts.omit!.toLowerCase() + ":")) : all;
}

/** The server still answers OPTIONS on a fresh connection. */
async function expectAlive(port: number): Promise<void> {
  const c = await raw(port);
  c.write(rawRequest(lines("OPTIONS")));
  expect((await c.response())?.status).toBe(200);
}

const PIDF_BROKEN_END_TAG = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${ALICE}"><tuple id="t1"><status><basic>open</basic></status></
tuple></presence>`;

describe("a failure inside one request never ends the server", () => {
  it("answers a PIDF with a line break inside an end tag (the issue's repro) with 400 and a one-line reason", async () => {
    const { port } = await setup();
    const alice = await ua(port, "alice");
    const r = await alice.publish(PIDF_BROKEN_END_TAG);
    expect(r.status).toBe(400);
    expect(r.reason).toMatch(/^Bad PIDF/);
    expect(r.reason).not.toMatch(/[\r\n]/);
    // the server is alive and alice can go on
    expect((await alice.publish(PIDF_BROKEN_END_TAG.replace("</\ntuple>", "</tuple>"))).status).toBe(200);
    await expectAlive(port);
  });

  it("answers 500 when building the answer itself fails, and logs it", async () => {
    const logged: string[] = [];
    const logger: SipLogger = (level, msg) => void (level === "error" && logged.push(msg));
    const { server, port } = await setup({ logger });
    // a plug-in answering with a status no response can carry: building the error response throws
    (server as PresenceServer).addNotifyHandler(() => {
      throw new SipError(999, "not a status");
    });
    const c = await raw(port);
    c.write(rawRequest(lines("NOTIFY", { extra: ["Event: presence", "Subscription-State: active"] })));
    expect((await c.response())?.status).toBe(500);
    expect(logged.some((m) => m.includes("request failed"))).toBe(true);
    c.write(rawRequest(lines("OPTIONS")));
    expect((await c.response(2))?.status).toBe(200);
  });

});

describe("malformed requests: 400 with a specific reason when routable, otherwise the connection closes", () => {
  it("closes a connection whose start line is not SIP, and keeps serving others", async () => {
    const { port } = await setup();
    const c = await raw(port);
    c.write("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    await c.waitClosed();
    expect(c.responses).toEqual([]);
    await expectAlive(port);
  });

  it("closes the connection of a request whose method is not a token (no SIP request line to answer)", async () => {
    const { port } = await setup();
    const c = await raw(port);
    c.write(rawRequest(lines("PUB@LISH")));
    await c.waitClosed();
    expect(c.responses).toEqual([]);
    expect(c.unparsed).toBe(0);
    await expectAlive(port);
  });

  it("closes the connection of a request whose Via is garbage rather than answer what nobody can match", async () => {
    const { port } = await setup();
    const c = await raw(port);
    const bad = lines("OPTIONS");
    bad[1] = "Via: SIP/2.0/TCP <<<;branch=z9hG4bKgarbage";
    c.write(rawRequest(bad));
    await c.waitClosed();
    expect(c.responses).toEqual([]);
    expect(c.unparsed).toBe(0);
  });

  it.each(["Via", "From", "To", "Call-ID", "CSeq"])("closes the connection of a request without %s (no response can be formed)", async (header) => {
    const { port } = await setup();
    const c = await raw(port);
    c.write(rawRequest(lines("OPTIONS", { omit: header })));
    await c.waitClosed();
    expect(c.responses).toEqual([]);
    await expectAlive(port);
  });

  it("answers a routable malformed request with 400 and the parser's specific reason; the connection stays open", async () => {
    const { port } = await setup();
    const c = await raw(port);
    const bad = lines("OPTIONS");
    bad[5] = "CSeq: 1 REGISTER";
    c.write(rawRequest(bad));
    const r = await c.response();
    expect(r?.status).toBe(400);
    expect(r?.reason).toBe("CSeq method does not match request method");
    c.write(rawRequest(lines("OPTIONS", { extra: ["Expires: soon"] })));
    const r2 = await c.response(2);
    expect(r2?.status).toBe(400);
    expect(r2?.reason).toMatch(/Expires/);
    expect(c.closed).toBe(false);
  });

  it("drops a malformed response without closing the connection (RFC 3261 §18.1.2)", async () => {
    const { port } = await setup();
    const c = await raw(port);
    c.write("SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP x;branch=z9hG4bKx\r\nContent-Length: 0\r\n\r\n");
    c.write(rawRequest(lines("OPTIONS")));
    expect((await c.response())?.status).toBe(200);
    expect(c.closed).toBe(false);
  });

  it("answers a SUBSCRIBE without a From tag with 400, not 500", async () => {
    const { port } = await setup();
    const c = await raw(port);
    c.write(rawRequest(lines("SUBSCRIBE", { fromTag: false, extra: ["Event: presence", `Contact: <sip:alice@127.0.0.1:5999;transport=tcp>`] })));
    const r = await c.response();
    expect(r?.status).toBe(400);
    expect(r?.reason).toBe("Missing From tag");
  });
});

describe("oversized messages: 513 where a response can be formed, then the connection closes", () => {
  it("answers a declared body beyond the limit with 513 before closing", async () => {
    const { port } = await setup({ maxMessageSize: 8192 });
    const c = await raw(port);
    c.write(rawRequest(lines("PUBLISH", { extra: ["Event: presence", "Content-Type: application/pidf+xml"] }), "", 100_000));
    const r = await c.response();
    expect(r?.status).toBe(513);
    expect(r?.reason).toBe("Message too large");
    expect(r?.cseq.method).toBe("PUBLISH");
    await c.waitClosed();
    await expectAlive(port);
  });

  it("answers a header block beyond the limit with 513 (its routing headers came first) before closing", async () => {
    const { port } = await setup();
    const c = await raw(port);
    c.write(lines("OPTIONS").join("\r\n") + "\r\nX-Padding: " + "p".repeat(20_000) + "\r\nContent-Length: 0\r\n\r\n");
    const r = await c.response();
    expect(r?.status).toBe(513);
    expect(r?.reason).toBe("Header block too large");
    await c.waitClosed();
    await expectAlive(port);
  });

  it("closes without an answer when the oversized header block holds no routable request", async () => {
    const { port } = await setup();
    const c = await raw(port);
    c.write("OPTIONS " + "x".repeat(20_000) + " SIP/2.0\r\n");
    await c.waitClosed();
    expect(c.responses).toEqual([]);
  });
});
