/**
 * The portal's HTTP server (lib/portal/http-server listenPortal, as `herald start` runs it, with
 * a stand-in for the Next.js handler): the client address it hands on (ISSUE-11 item 4), the
 * callbackUrl check (item 7) and the header timeout (item 10).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import { listenPortal, type PortalServer } from "@/lib/portal/http-server";
import { clientAddress } from "@/lib/portal/client-address";
import { loadConfig } from "@/lib/config";
import { waitFor } from "../helpers/wait";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const DATA_DIR = mkdtempSync(path.join(tmpdir(), "herald-http-"));
const cfg = (env: Record<string, string>) => loadConfig({ HERALD_DATA_DIR: DATA_DIR, ...env });

/** Raw request over a fresh socket: the status line and the whole answer. */
function raw(port: number, request: string, localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, localAddress }, () => s.write(request));
    let out = "";
    s.on("data", (d) => (out += d.toString("latin1")));
    s.on("close", () => resolve(out));
    s.on("error", reject);
    s.setTimeout(10_000, () => s.destroy(new Error("no answer within 10 s")));
  });
}

const get = (target: string, headers: Record<string, string> = {}) =>
  `GET ${target} HTTP/1.1\r\nHost: portal.test\r\nConnection: close\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;

async function serve(opts: Partial<Parameters<typeof listenPortal>[1]> = {}) {
  const seen: Array<{ url?: string; client?: string | string[] }> = [];
  const portal = await listenPortal(async (req, res) => {
    seen.push({ url: req.url, client: req.headers["x-herald-client-ip"] });
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`client=${req.headers["x-herald-client-ip"]}`);
  }, { host: "127.0.0.1", port: 0, ...opts });
  return { portal, seen };
}

describe("portal HTTP server", () => {
  describe("client address", () => {
    let direct: PortalServer;
    let proxied: PortalServer;
    beforeAll(async () => {
      direct = (await serve()).portal;
      proxied = (await serve({ trustedProxies: ["127.0.0.1", "10.0.0.2"] })).portal;
    });
    afterAll(async () => {
      await direct?.close();
      await proxied?.close();
    });

    it("is the socket's peer without trusted proxies; X-Forwarded-For and a client-sent header are ignored", async () => {
      const res = await raw(direct.port, get("/", { "X-Forwarded-For": "203.0.113.9", "X-Herald-Client-IP": "198.51.100.1" }), "127.0.0.3");
      expect(res).toContain("client=127.0.0.3");
    });

    it("behind a trusted proxy, is the rightmost X-Forwarded-For entry that is not a trusted proxy", async () => {
      expect(await raw(proxied.port, get("/", { "X-Forwarded-For": "198.51.100.1, 203.0.113.9" }))).toContain("client=203.0.113.9");
      // a chain of trusted proxies is skipped; repeated headers count as one list
      expect(await raw(proxied.port, get("/", { "X-Forwarded-For": "198.51.100.1, 203.0.113.9", "x-forwarded-for": "10.0.0.2" }))).toContain("client=203.0.113.9");
      // a peer that is not a trusted proxy is the client, whatever it forwards
      expect(await raw(proxied.port, get("/", { "X-Forwarded-For": "203.0.113.9" }), "127.0.0.4")).toContain("client=127.0.0.4");
    });

    it("parses entries as proxies write them", () => {
      const trusted = ["10.0.0.2", "::1"];
      expect(clientAddress("::ffff:10.0.0.2", "[2001:db8::7]:4711", trusted)).toBe("2001:db8::7");
      expect(clientAddress("::1", "192.0.2.4:5060, 10.0.0.2", trusted)).toBe("192.0.2.4");
      expect(clientAddress("10.0.0.2", "not-an-address", trusted)).toBe("10.0.0.2");
      expect(clientAddress("10.0.0.2", "10.0.0.2", trusted)).toBe("10.0.0.2");
      expect(clientAddress("10.0.0.2", undefined, trusted)).toBe("10.0.0.2");
    });

    it("TRUSTED_PROXIES is a validated list of addresses", () => {
      expect(cfg({ TRUSTED_PROXIES: " 10.0.0.2, ::1 " }).TRUSTED_PROXIES).toEqual(["10.0.0.2", "::1"]);
      expect(cfg({}).TRUSTED_PROXIES).toEqual([]);
      expect(() => cfg({ TRUSTED_PROXIES: "10.0.0.2,proxy.example" })).toThrow(/TRUSTED_PROXIES: not an IP address: proxy\.example/);
    });
  });

  describe("callbackUrl", () => {
    let s: Awaited<ReturnType<typeof serve>>;
    beforeAll(async () => {
      s = await serve();
    });
    afterAll(async () => s?.portal.close());

    it.each(["/%09/evil.example/", "/%0D%0ALocation:%20http://evil.example/", "/%0a/evil.example", "/x%00", "/%7F"])(
      "refuses control characters with 400: %s",
      async (value) => {
        const res = await raw(s.portal.port, get(`/login?callbackUrl=${value}`));
        expect(res).toMatch(/^HTTP\/1\.1 400 /);
        expect(res).toContain("callbackUrl must not contain control characters");
        expect(s.seen.some((r) => r.url?.includes(value))).toBe(false);
      },
    );

    it("hands on other values (the page keeps only same-origin paths)", async () => {
      expect(await raw(s.portal.port, get("/login?callbackUrl=%2Fme%3Ftab%3D1"))).toMatch(/^HTTP\/1\.1 200 /);
      expect(await raw(s.portal.port, get("/login?callbackUrl=/%C3%A9t%C3%A9"))).toMatch(/^HTTP\/1\.1 200 /);
    });
  });

  describe("header timeout", () => {
    it("closes a connection whose request head is still unfinished after the timeout (one byte a second)", async () => {
      const { portal } = await serve({ headerTimeoutMs: 1_500 });
      try {
        const sock = net.connect({ host: "127.0.0.1", port: portal.port });
        let closed = false;
        let answer = "";
        sock.on("data", (d) => (answer += d.toString("latin1")));
        sock.on("close", () => (closed = true));
        sock.on("error", () => undefined);
        await new Promise<void>((r) => sock.once("connect", () => r()));
        const request = get("/").replace("\r\n\r\n", "\r\nX-Slow: " + "a".repeat(60) + "\r\n\r\n");
        const started = Date.now();
        let sent = 0;
        const drip = setInterval(() => {
          if (!closed && sent < request.length) sock.write(request[sent++]);
        }, 1_000);
        try {
          await waitFor(() => closed, { timeoutMs: 10_000, what: "the slow connection to be closed" });
        } finally {
          clearInterval(drip);
        }
        expect(Date.now() - started).toBeLessThan(6_000);
        expect(sent).toBeLessThan(request.length);
        expect(answer === "" || /^HTTP\/1\.1 408 /.test(answer)).toBe(true);
      } finally {
        await portal.close();
      }
    });

    it("serves requests and upgrades accepted while the event loop was busy past the timeout (a reconnect storm), not resets them", async () => {
      // Node measures the timeout from the accept: these heads wait unread in their sockets while
      // the loop is held up (by the 10th accept here, by pages setting up their SIP after a restart)
      const { portal } = await serve({ headerTimeoutMs: 300 });
      portal.onUpgrade((_req, socket) => {
        socket.end("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        return true;
      });
      const n = 10;
      let accepted = 0;
      portal.server.on("connection", () => {
        if (++accepted !== n) return;
        const until = Date.now() + 700; // the busy loop, on purpose: longer than the header timeout
        while (Date.now() < until);
      });
      const upgrade = "GET /sip HTTP/1.1\r\nHost: portal.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
      try {
        const answers = await Promise.all(Array.from({ length: n }, (_, i) => raw(portal.port, i % 2 ? upgrade : get("/"))));
        expect(accepted).toBe(n);
        expect(answers.map((a) => a.slice(0, 12))).toEqual(Array.from({ length: n }, (_, i) => (i % 2 ? "HTTP/1.1 101" : "HTTP/1.1 200")));
      } finally {
        await portal.close();
      }
    });

    it("HTTP_HEADER_TIMEOUT_SECONDS defaults to 30 (at most 60 as required)", () => {
      expect(cfg({}).HTTP_HEADER_TIMEOUT_SECONDS).toBe(30);
      expect(cfg({ HTTP_HEADER_TIMEOUT_SECONDS: "10" }).HTTP_HEADER_TIMEOUT_SECONDS).toBe(10);
    });
  });
});
