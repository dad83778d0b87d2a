/**
 * The XCAP root served by `herald start`'s own HTTP server before Next.js routing (listenPortal's
 * `xcap` option with XcapHttp.handleNode, issue 13): the same answers as the portal route — digest
 * with one WWW-Authenticate header per algorithm, the portal session, bounded bodies, the client
 * address the auth limiter counts — without the Next.js handler ever seeing the request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { digestHa1 } from "@/lib/accounts/password";
import { AuthLimiter } from "@/lib/accounts/auth-limiter";
import { listenPortal, type PortalServer } from "@/lib/portal/http-server";
import { XcapClient } from "@/lib/xcap/client";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";
import { testXcapHttp } from "../../helpers/test-xcap-http";

const RL = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="buddies"><entry uri="sip:bob@example.test"/></list></resource-lists>`;
const DOC = "/xcap-root/resource-lists/users/sip:alice@example.test/index";

/** Raw request over a fresh socket: the whole answer, once the server closed the connection. */
function raw(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => s.write(request));
    let out = "";
    s.on("data", (d) => (out += d.toString("latin1")));
    s.on("close", () => resolve(out));
    s.on("error", reject);
    s.setTimeout(10_000, () => s.destroy(new Error("no answer within 10 s")));
  });
}

describe("XCAP root before Next.js routing (herald start's HTTP server)", () => {
  let t: TempDb;
  let portal: PortalServer;
  let mapped: PortalServer;
  const nextSaw: string[] = [];
  const limiter = new AuthLimiter({ perAccountAddress: 2, perAddress: 100, perAccount: 100, maxBackoffSeconds: 60, windowSeconds: 600 });
  let sessionCookieAor: string | null = null;

  beforeAll(async () => {
    t = await tempSqliteDb();
    await addDomain(t.db, "example.test");
    await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1" });
    await addAccount(t.db, { address: "carol@example.test", password: "Carol-pass1" });
    const x = testXcapHttp(t.db, { authLimiter: limiter });
    const nextHandler = async (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
      nextSaw.push(req.url ?? "");
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("next.js");
    };
    const xcap = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) =>
      x.handleNode(req, res, { sessionAor: async () => (req.headers.cookie === "session=alice" ? sessionCookieAor : null) });
    portal = await listenPortal(nextHandler, { host: "127.0.0.1", port: 0, xcap });
    mapped = await listenPortal(nextHandler, { host: "127.0.0.1", port: 0, xcap, xcapRootPath: "/xcap" });
  });
  afterAll(async () => {
    await portal?.close();
    await mapped?.close();
    await t?.close();
  });

  const client = (server: PortalServer, root = "/xcap-root") =>
    new XcapClient({
      root: `http://127.0.0.1:${server.port}${root}`,
      xui: "sip:alice@example.test",
      auth: { username: "alice", ha1: digestHa1("alice", "example.test", "Alice-pass1") },
    });

  it("round-trips a document with digest without the Next.js handler seeing a request; other paths still go to Next.js", async () => {
    const alice = client(portal);
    const put = await alice.putDocument("resource-lists", "index", RL, { ifNoneMatch: "*" });
    expect(put.created).toBe(true);
    const got = await alice.getDocument("resource-lists", "index");
    expect(got?.xml).toBe(RL);
    expect(got?.etag).toBe(put.etag);
    expect(nextSaw).toEqual([]);
    const page = await fetch(`http://127.0.0.1:${portal.port}/me`);
    expect(await page.text()).toBe("next.js");
    expect(nextSaw).toEqual(["/me"]);
  });

  it("serves a public XCAP_ROOT_PATH the same way", async () => {
    const got = await client(mapped, "/xcap").getDocument("resource-lists", "index");
    expect(got?.xml).toBe(RL);
    expect(nextSaw).toEqual(["/me"]);
  });

  it("challenges with one WWW-Authenticate header per algorithm", async () => {
    const res = await raw(portal.port, `GET ${DOC} HTTP/1.1\r\nHost: portal.test\r\nConnection: close\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 401 /);
    const challenges = res.split("\r\n").filter((l) => /^www-authenticate:/i.test(l));
    expect(challenges).toHaveLength(2);
    expect(challenges.join("\n")).toMatch(/algorithm=SHA-256/);
    expect(challenges.join("\n")).toMatch(/algorithm=MD5/);
  });

  it("takes the portal session of the request", async () => {
    const url = `http://127.0.0.1:${portal.port}${DOC}`;
    expect((await fetch(url, { headers: { cookie: "session=alice" } })).status).toBe(401);
    sessionCookieAor = "alice@example.test";
    try {
      const res = await fetch(url, { headers: { cookie: "session=alice" } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(RL);
    } finally {
      sessionCookieAor = null;
    }
  });

  it("answers a body over the limit with 413 and closes the connection, changing nothing", async () => {
    const body = Buffer.alloc(70 * 1024, 0x20);
    // no Content-Length to refuse up front: chunked, so the body is read until the limit
    const head = `PUT ${DOC} HTTP/1.1\r\nHost: portal.test\r\nContent-Type: application/resource-lists+xml\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const res = await raw(portal.port, Buffer.concat([Buffer.from(head), Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")]));
    expect(res).toMatch(/^HTTP\/1\.1 413 /);
    expect(res.toLowerCase()).toContain("connection: close");
    expect((await client(portal).getDocument("resource-lists", "index"))?.xml).toBe(RL);
  });

  it("counts wrong digest passwords against the auth limiter: 429 with Retry-After once the limit is reached", async () => {
    const wrong = new XcapClient({
      root: `http://127.0.0.1:${portal.port}/xcap-root`,
      xui: "sip:carol@example.test",
      auth: { username: "carol", ha1: digestHa1("carol", "example.test", "wrong-pass1") },
    });
    for (let i = 0; i < 2; i++) await expect(wrong.getDocument("resource-lists", "index")).rejects.toMatchObject({ status: 401 });
    await expect(wrong.getDocument("resource-lists", "index")).rejects.toMatchObject({ status: 429 });
  });
});
