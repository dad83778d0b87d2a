/**
 * The embedded SIP server's bounds over real TCP (issue 11 item 10): the header timeout, open
 * connections per source address, publications per presentity — each with its default, its
 * option, and its variable passed through startEmbeddedSipServer.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import type { SipConnection } from "@/lib/sip/connection";
import { RawSipConnection, rawRequest } from "../helpers/raw-sip";
import { pidf, SipTestClient } from "../helpers/sip-client";
import { embeddedSipFromEnv } from "../helpers/embedded-sip";
import { waitFor } from "../helpers/wait";
import { sendUntilClosed } from "../helpers/send-until-closed";
import { DOMAIN, client, startServer } from "../integration/server/harness";

const ALICE = `sip:alice@${DOMAIN}`;

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(overrides = {}) {
  const s = await startServer(overrides);
  cleanup.push(() => s.server.stop());
  return s;
}
async function raw(port: number): Promise<RawSipConnection> {
  const c = await RawSipConnection.connect(port);
  cleanup.push(() => c.close());
  return c;
}
let n = 0;
const options = () =>
  rawRequest([`OPTIONS ${ALICE} SIP/2.0`, `Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKlim${++n}`, `From: <${ALICE}>;tag=l${n}`, `To: <${ALICE}>`, `Call-ID: limits-${n}`, `CSeq: 1 OPTIONS`]);

async function answersOptions(c: RawSipConnection): Promise<boolean> {
  const before = c.responses.length;
  c.write(options());
  return (await c.response(before + 1))?.status === 200;
}

describe("header timeout", () => {
  it("closes 200 connections that send one byte a second once their message is older than the timeout; others are served", async () => {
    const { server, port } = await setup({ headerTimeoutMs: 2000, maxConnectionsPerAddress: 0 });
    const msg = Buffer.from(options());
    const sockets = await Promise.all(
      Array.from({ length: 200 }, () => new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host: "127.0.0.1", port }, () => resolve(s));
        s.once("error", reject);
      })),
    );
    let closed = 0;
    for (const s of sockets) {
      s.on("error", () => {});
      s.on("close", () => closed++);
    }
    const started = Date.now();
    let i = 0;
    const drip = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write(msg.subarray(i, i + 1));
      i++;
    }, 1000);
    cleanup.push(() => clearInterval(drip));
    for (const s of sockets) s.write(msg.subarray(0, 1));
    await waitFor(() => closed === 200, { timeoutMs: 15_000, what: "all 200 slow connections to be closed" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    await waitFor(() => server.transport.connectionCount === 0, { what: "the server to let go of all of them" });
    expect(await answersOptions(await raw(port))).toBe(true);
  });

  it("keeps a connection that is slow between messages but sends each whole", async () => {
    const { port } = await setup({ headerTimeoutMs: 1000 });
    const c = await raw(port);
    for (let k = 0; k < 3; k++) {
      expect(await answersOptions(c)).toBe(true);
      await c.until(() => false, 600, "a pause").catch(() => {}); // idle longer than half the timeout
    }
    expect(c.closed).toBe(false);
  });
});

describe("connections per address", () => {
  it("closes a connection beyond the limit at once; one freed makes room; in-process flows do not count", async () => {
    const { server, port } = await setup({ maxConnectionsPerAddress: 5 });
    const five = await Promise.all(Array.from({ length: 5 }, () => raw(port)));
    for (const c of five) expect(await answersOptions(c)).toBe(true);
    const sixth = await raw(port);
    await sixth.waitClosed(2000);
    expect(sixth.responses).toEqual([]);
    five[0]!.close();
    await waitFor(() => server.transport.connectionCount === 4, { what: "the freed connection to be gone" });
    expect(await answersOptions(await raw(port))).toBe(true);
    const flows = Array.from({ length: 10 }, () => server.transport.openFlow());
    cleanup.push(() => flows.forEach((f) => f.destroy()));
    expect(server.transport.flowCount).toBe(10);
  });

  it("is 100 by default", async () => {
    const { port } = await setup();
    const conns = await Promise.all(Array.from({ length: 101 }, () => raw(port)));
    await waitFor(() => conns.filter((c) => c.closed).length === 1, { what: "the 101st connection to be closed" });
    expect(conns.filter((c) => !c.closed)).toHaveLength(100);
  });
});

describe("publications per presentity", () => {
  it("refuses a new publication beyond the limit with 403; refreshing, modifying and removing still work", async () => {
    const { server, port } = await setup({ publish: { maxPerPresentity: 3 } });
    const alice = await client(port, "alice");
    cleanup.push(() => alice.close());
    const etags: string[] = [];
    for (let k = 0; k < 3; k++) {
      const r = await alice.publish(pidf(ALICE, "open", `device ${k}`, `t${k}`));
      expect(r.status).toBe(200);
      etags.push(r.getHeader("SIP-ETag")!);
    }
    const refused = await alice.publish(pidf(ALICE, "open", "one too many", "t9"));
    expect(refused.status).toBe(403);
    expect(refused.reason).toBe("Too many publications for this presentity (at most 3)");
    expect(server.presence.publicationsOf(ALICE)).toHaveLength(3);
    const refreshed = await alice.publish(undefined, { etag: etags[0] });
    expect(refreshed.status).toBe(200);
    const modified = await alice.publish(pidf(ALICE, "closed", "changed", "t1"), { etag: etags[1] });
    expect(modified.status).toBe(200);
    expect((await alice.publish(undefined, { etag: etags[2], expires: 0 })).status).toBe(200);
    expect((await alice.publish(pidf(ALICE, "open", "room again", "t3"))).status).toBe(200);
    expect(server.presence.publicationsOf(ALICE)).toHaveLength(3);
  });

  it("is 20 by default", async () => {
    const { server, port } = await setup();
    const alice = await client(port, "alice");
    cleanup.push(() => alice.close());
    for (let k = 0; k < 20; k++) expect((await alice.publish(pidf(ALICE, "open", undefined, `t${k}`))).status).toBe(200);
    expect((await alice.publish(pidf(ALICE, "open", undefined, "t20"))).status).toBe(403);
    expect(server.presence.publicationsOf(ALICE)).toHaveLength(20);
  });
});

describe("configuration", () => {
  it("passes SIP_HEADER_TIMEOUT_SECONDS, SIP_MAX_CONNECTIONS_PER_ADDRESS and SIP_MAX_PUBLICATIONS_PER_PRESENTITY to the server", async () => {
    const { sip, close } = await embeddedSipFromEnv(
      { SIP_HEADER_TIMEOUT_SECONDS: "1", SIP_MAX_CONNECTIONS_PER_ADDRESS: "2", SIP_MAX_PUBLICATIONS_PER_PRESENTITY: "1" },
      {
        rls: false,
        seed: async (db) => {
          await addDomain(db, DOMAIN);
          await addAccount(db, { address: `alice@${DOMAIN}`, password: "Correct-Horse-9" });
        },
      },
    );
    cleanup.push(close);
    const port = sip.ports.tcp!;
    const alice = await SipTestClient.connect({ host: "127.0.0.1", port, user: "alice", domain: DOMAIN, password: "Correct-Horse-9" });
    cleanup.push(() => alice.close());
    expect((await alice.publish(pidf(ALICE, "open"))).status).toBe(200);
    expect((await alice.publish(pidf(ALICE, "open", undefined, "t2"))).status).toBe(403);
    const slow = await raw(port); // the second connection from 127.0.0.1: accepted, then timed out
    slow.write("OPTIONS sip:");
    await slow.waitClosed(4000);
    await waitFor(() => sip.server.transport.connectionCount === 1, { what: "the server to let go of the slow connection" });
    const second = await raw(port);
    const third = await raw(port); // alice's and `second` are open: one too many
    await third.waitClosed(2000);
    expect(second.closed).toBe(false);
  });

  it("passes SIP_MAX_SEND_BACKLOG_BYTES to the server's connections", async () => {
    const { sip, close } = await embeddedSipFromEnv({ SIP_MAX_SEND_BACKLOG_BYTES: "65536" }, { rls: false });
    cleanup.push(close);
    const accepted: SipConnection[] = [];
    sip.server.transport.on("connection", (c) => accepted.push(c));
    const peer = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port: sip.ports.tcp! }, () => resolve(s));
      s.once("error", reject);
    });
    cleanup.push(() => peer.destroy());
    peer.pause(); // a peer that never reads
    const conn = await waitFor(() => accepted[0], { what: "the server's side of the connection" });
    const unread: number[] = [];
    conn.on("backlog", (bytes) => unread.push(bytes));
    const chunk = Buffer.alloc(16 * 1024, "x");
    sendUntilClosed(conn, chunk, 64 * 1024 * 1024);
    // closed once more than 64 KiB waited in the process beyond what the kernel took
    expect(conn.closed).toBe(true);
    expect(unread).toHaveLength(1);
    expect(unread[0]).toBeGreaterThan(65536);
    expect(unread[0]).toBeLessThanOrEqual(65536 + chunk.length);
  });
});
