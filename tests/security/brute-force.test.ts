/**
 * ISSUE-11 item 4: one limiter of password guesses for portal login, XCAP digest and SIP digest,
 * counted before the check (concurrent guesses cannot slip in), keyed by account and by the real
 * client address (X-Forwarded-For only from a trusted proxy), with back-off instead of a lock-out.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "@/lib/config";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { authorizeLogin } from "@/lib/portal/auth";
import { AuthLimiter } from "@/lib/accounts/auth-limiter";
import { listenPortal, type PortalServer } from "@/lib/portal/http-server";
import { limitedAs429, loginErrorMessage } from "@/lib/portal/login-errors";
import { createHash, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { authOptions } from "@/lib/portal/auth";
import { buildDigestAuthorization, issueEphemeralCredentials } from "@/lib/sip";
import { tempSqliteDb, type TempDb } from "../helpers/temp-db";
import { serveFetch } from "../helpers/xcap-http-server";
import { testXcapHttp } from "../helpers/test-xcap-http";
import { client, startServer, PASSWORD, SECRET } from "../integration/server/harness";
import { startEmbeddedSipServer } from "@/lib/server";
import { xcapHttp } from "@/lib/portal/xcap";
import { MemoryXcapStore } from "@/lib/xcap/server";
import { SipTestClient } from "../helpers/sip-client";

const CLIENT_IP = "x-herald-client-ip";
// next-auth's core, as its route handler calls it (not in the package's exports map)
const nextAuthDir = path.dirname(createRequire(import.meta.url).resolve("next-auth"));
const { AuthHandler } = createRequire(import.meta.url)(path.join(nextAuthDir, "core/index.js")) as {
  AuthHandler: (p: { req: Record<string, unknown>; options: unknown }) => Promise<{ status?: number; redirect?: string }>;
};
const DOC = "/xcap-root/resource-lists/users/sip:alice@example.test/index";
/** A limiter whose clock stands still: no back-off runs out while a test is slow. */
const stillLimiter = () => new AuthLimiter({ now: () => 1_000_000 });

describe("brute force: one limiter for every door", () => {
  let t: TempDb;
  const cfg = loadConfig({ HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-bf-")), SIP_HOST: "127.0.0.1", SIP_PORT: "0" });
  beforeAll(async () => {
    (globalThis as { __heraldConfig?: unknown }).__heraldConfig = cfg;
    t = await tempSqliteDb();
    await addDomain(t.db, "example.test");
    for (const u of ["alice", "bob", "carol", "dave", "erin"]) await addAccount(t.db, { address: `${u}@example.test`, password: "Right-pass1" });
  });
  afterAll(async () => t?.close());

  describe("portal login", () => {
    it("30 concurrent wrong passwords: only the allowance is checked, then the right one is refused with a wait", async () => {
      const attempts = Array.from({ length: 30 }, () => authorizeLogin({ address: "alice@example.test", password: "Wrong-pass1" }, "10.0.0.1"));
      // the right password while those are being checked: refused, not checked
      await expect(authorizeLogin({ address: "alice@example.test", password: "Right-pass1" }, "10.0.0.1")).rejects.toThrow(/^limited:\d+$/);
      const wrong = await Promise.allSettled(attempts);
      // and right after them (settled at once, asserted below)
      const right = authorizeLogin({ address: "alice@example.test", password: "Right-pass1" }, "10.0.0.1").then(
        () => "signed in",
        (e: Error) => e.message,
      );
      const reasons = wrong.map((r) => (r.status === "rejected" ? (r.reason as Error).message : "signed in"));
      expect(reasons.filter((m) => m === "invalid")).toHaveLength(5);
      expect(reasons.filter((m) => m.startsWith("limited:"))).toHaveLength(25);
      // the refused 25 were never checked: only 5 failures were audited
      expect(await t.db.auditEvent.count({ where: { action: "login.failed", target: "alice@example.test" } })).toBe(5);

      expect(await right).toMatch(/^limited:\d+$/);
      const seconds = Number((await right).split(":")[1]);
      expect(seconds).toBeGreaterThanOrEqual(1);
      expect(loginErrorMessage(`limited:${seconds}`)).toMatch(/^Too many failed attempts\. Try again in \d+ seconds?\.$/);
      expect(loginErrorMessage("limited:600")).toBe("Too many failed attempts. Try again in 10 minutes.");
    });

    it("the owner from another address gets in meanwhile", async () => {
      await expect(authorizeLogin({ address: "alice@example.test", password: "Right-pass1" }, "192.0.2.50")).resolves.toMatchObject({ address: "alice@example.test" });
    });

    /** A sign-in as the login form posts it, through next-auth's credentials flow and the route's wrapper. */
    async function formSignIn(address: string, password: string, clientIp: string) {
      process.env.NEXTAUTH_URL ??= "http://portal.test";
      const options = authOptions();
      const csrf = randomBytes(16).toString("hex");
      const internal = await AuthHandler({
        req: {
          method: "POST",
          action: "callback",
          providerId: "credentials",
          body: { address, password, csrfToken: csrf, callbackUrl: "/", json: "true" },
          query: {},
          cookies: { "next-auth.csrf-token": `${csrf}|${createHash("sha256").update(`${csrf}${options.secret}`).digest("hex")}` },
          headers: { host: "portal.test", "x-herald-client-ip": clientIp },
        },
        options,
      });
      // what next-auth's app-router handler does with a json=true post
      const redirect = internal.redirect;
      const res = await limitedAs429(new Response(JSON.stringify({ url: redirect }), { status: internal.status ?? 200, headers: { "content-type": "application/json" } }));
      const url = ((await res.json()) as { url: string }).url;
      return { status: res.status, retryAfter: res.headers.get("retry-after"), error: new URL(url).searchParams.get("error") };
    }

    it("through next-auth's credentials flow: refused attempts are not checked and get 429 with Retry-After", async () => {
      const wrong = await Promise.all(Array.from({ length: 30 }, () => formSignIn("dave@example.test", "Wrong-pass1", "10.0.5.1")));
      const right = await formSignIn("dave@example.test", "Right-pass1", "10.0.5.1");
      expect(wrong.filter((r) => r.error === "invalid")).toHaveLength(5);
      expect(wrong.filter((r) => r.status === 429 && /^limited:\d+$/.test(r.error ?? ""))).toHaveLength(25);
      expect(await t.db.auditEvent.count({ where: { action: "login.failed", target: "dave@example.test" } })).toBe(5);
      expect(right.status).toBe(429);
      expect(right.error).toBe(`limited:${right.retryAfter}`);
      expect(Number(right.retryAfter)).toBeGreaterThanOrEqual(1);
      // the owner from elsewhere: signed in (no error in the answer)
      expect(await formSignIn("dave@example.test", "Right-pass1", "192.0.2.51")).toMatchObject({ status: 200, error: null });
    });
  });

  describe("XCAP digest", () => {
    let srv: Awaited<ReturnType<typeof serveFetch>>;
    beforeAll(async () => {
      const x = testXcapHttp(t.db, { authLimiter: stillLimiter() });
      srv = await serveFetch((r) => x.handle(r));
    });
    afterAll(async () => srv?.close());

    const challenge = async () => {
      const res = await fetch(`${srv.url}${DOC}`);
      expect(res.status).toBe(401);
      return res.headers.get("www-authenticate")!.split(/,\s*(?=Digest\s)/i).find((c) => /MD5/.test(c))!;
    };
    const get = (ch: string, password: string, address: string, nc = 1) =>
      fetch(`${srv.url}${DOC}`, {
        headers: { [CLIENT_IP]: address, authorization: buildDigestAuthorization({ challenge: ch, method: "GET", uri: DOC, username: "alice", password, nc }) },
      });

    it("40 concurrent wrong guesses, then the right password: 429 with Retry-After, unchecked", async () => {
      const ch = await challenge();
      const wrong = await Promise.all(Array.from({ length: 40 }, (_, i) => get(ch, "Wrong-pass1", "10.0.1.1", i + 1)));
      const statuses = wrong.map((r) => r.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(5);
      expect(statuses.filter((s) => s === 429)).toHaveLength(35);
      const right = await get(await challenge(), "Right-pass1", "10.0.1.1");
      expect(right.status).toBe(429);
      expect(Number(right.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    });

    it("the owner from another address gets in", async () => {
      const res = await get(await challenge(), "Right-pass1", "192.0.2.60");
      expect(res.status).toBe(404); // authenticated: alice has no such document yet
    });

    it("the wait grows with every further failure: Retry-After 1, 2, 4, 8", async () => {
      let clock = 5_000_000;
      const x = testXcapHttp(t.db, { authLimiter: new AuthLimiter({ now: () => clock }) });
      const one = await serveFetch((r) => x.handle(r));
      try {
        const ch = (await fetch(`${one.url}${DOC}`)).headers.get("www-authenticate")!.split(/,\s*(?=Digest\s)/i).find((c) => /MD5/.test(c))!;
        const guess = (nc: number) =>
          fetch(`${one.url}${DOC}`, { headers: { [CLIENT_IP]: "10.0.2.1", authorization: buildDigestAuthorization({ challenge: ch, method: "GET", uri: DOC, username: "alice", password: "Wrong-pass1", nc }) } });
        for (let i = 1; i <= 5; i++) expect((await guess(i)).status).toBe(401);
        const waits: string[] = [];
        for (let i = 6; i < 10; i++) {
          const refused = await guess(i);
          expect(refused.status).toBe(429);
          waits.push(refused.headers.get("retry-after")!);
          clock += Number(refused.headers.get("retry-after")) * 1000;
          expect((await guess(i + 100)).status).toBe(401); // one attempt after the wait, wrong again
        }
        expect(waits).toEqual(["1", "2", "4", "8"]);
      } finally {
        await one.close();
      }
    });
  });

  describe("SIP digest", () => {
    let sip: Awaited<ReturnType<typeof startServer>>;
    beforeAll(async () => {
      sip = await startServer({ authLimiter: stillLimiter() });
    });
    afterAll(async () => sip?.server.stop());

    it("40 wrong REGISTERs, then the right password: 503 with Retry-After; the challenge round is not counted", async () => {
      const attacker = await client(sip.port, "bob", { password: "wrong-password" });
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) statuses.push((await attacker.register(60)).status);
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(new Set(statuses.slice(5))).toEqual(new Set([503]));
      await attacker.close();

      const owner = await client(sip.port, "bob");
      const refused = await owner.register(60);
      expect(refused.status).toBe(503);
      expect(Number(refused.getHeader("Retry-After"))).toBeGreaterThanOrEqual(1);
      // without credentials a client is still challenged (nothing counted, nothing refused)
      const plain = await owner.sendRequest(owner.build("REGISTER", "sip:example.test", { to: `<${owner.aor}>` }));
      expect(plain.status).toBe(401);
      await owner.close();
    });

    it("expired short-lived credentials (a tab back from sleep) are not counted as guesses", async () => {
      const eph = issueEphemeralCredentials({ secret: SECRET, user: "carol", ttlSeconds: -60 });
      const tab = await client(sip.port, "carol", { authUser: eph.username, password: eph.password });
      for (let i = 0; i < 10; i++) expect((await tab.register(60)).status).toBe(401);
      await tab.close();
      const fresh = issueEphemeralCredentials({ secret: SECRET, user: "carol", ttlSeconds: 600 });
      const again = await client(sip.port, "carol", { authUser: fresh.username, password: fresh.password });
      expect((await again.register(60)).status).toBe(200);
      await again.close();
    });

    it("the owner from another address gets in", async () => {
      const owner = await client(sip.port, "bob", { localAddress: "127.0.0.2", password: PASSWORD });
      expect((await owner.register(60)).status).toBe(200);
      await owner.close();
    });
  });

  it("the three doors of one process share the limiter: portal failures hold back SIP and XCAP", async () => {
    const sip = await startEmbeddedSipServer(cfg, t.db, { store: new MemoryXcapStore() }, { logger: () => {}, rls: false });
    try {
      const failures = await Promise.allSettled(Array.from({ length: 5 }, () => authorizeLogin({ address: "erin@example.test", password: "Wrong-pass1" }, "127.0.0.1")));
      expect(failures.every((f) => f.status === "rejected" && (f.reason as Error).message === "invalid")).toBe(true);
      const phone = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user: "erin", domain: "example.test", password: "Right-pass1" });
      try {
        const res = await phone.register(60);
        expect(res.status).toBe(503);
        expect(Number(res.getHeader("Retry-After"))).toBeGreaterThanOrEqual(1);
      } finally {
        await phone.close();
      }
      const doc = "/xcap-root/resource-lists/users/sip:erin@example.test/index";
      // (credentials without a user name: challenged, no session looked up, nothing counted)
      const challenge = await xcapHttp().handle(new Request(`http://portal.test${doc}`, { headers: { authorization: 'Digest realm="example.test"' } }));
      expect(challenge.status).toBe(401);
      const ch = challenge.headers.get("www-authenticate")!.split(/,\s*(?=Digest\s)/i).find((c) => /MD5/.test(c))!;
      const authorization = buildDigestAuthorization({ challenge: ch, method: "GET", uri: doc, username: "erin", password: "Right-pass1" });
      const res = await xcapHttp().handle(new Request(`http://portal.test${doc}`, { headers: { authorization, [CLIENT_IP]: "127.0.0.1" } }));
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    } finally {
      await sip.stop();
    }
  });

  describe("behind a reverse proxy", () => {
    let portal: PortalServer;
    beforeAll(async () => {
      const x = testXcapHttp(t.db, { authLimiter: stillLimiter() });
      portal = await listenPortal(async (req, res) => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
        const r = await x.handle(new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers }));
        res.writeHead(r.status, Object.fromEntries(r.headers));
        res.end(Buffer.from(await r.arrayBuffer()));
      }, { host: "127.0.0.1", port: 0, trustedProxies: ["127.0.0.1"] });
    });
    afterAll(async () => portal?.close());

    const request = (forwardedFor: string, authorization?: string) =>
      new Promise<http.IncomingMessage>((resolve, reject) => {
        const headers: Record<string, string> = { "x-forwarded-for": forwardedFor, [CLIENT_IP]: "10.10.10.10" };
        if (authorization) headers.authorization = authorization;
        http.get({ host: "127.0.0.1", port: portal.port, path: DOC.replace("alice", "carol"), headers }, (res) => {
          res.resume();
          resolve(res);
        }).on("error", reject);
      });
    const guess = async (forwardedFor: string, password: string) => {
      const ch = (await request(forwardedFor)).headers["www-authenticate"] as unknown as string;
      const first = (Array.isArray(ch) ? ch : ch.split(/,\s*(?=Digest\s)/i)).find((c: string) => /MD5/.test(c))!;
      return request(forwardedFor, buildDigestAuthorization({ challenge: first, method: "GET", uri: DOC.replace("alice", "carol"), username: "carol", password }));
    };

    it("keys on the client the trusted proxy names, not on the proxy (nor on a client-sent header)", async () => {
      // a client-written X-Forwarded-For entry on the left changes nothing: the proxy appends the real one
      for (let i = 0; i < 5; i++) expect((await guess(`198.51.100.${i}, 203.0.113.9`, "Wrong-pass1")).statusCode).toBe(401);
      const limited = await guess("203.0.113.9", "Right-pass1");
      expect(limited.statusCode).toBe(429);
      expect(limited.headers["retry-after"]).toMatch(/^\d+$/);
      // another client behind the same proxy is not affected
      expect((await guess("198.51.100.77", "Right-pass1")).statusCode).toBe(404);
    });
  });
});
