import { describe, expect, it } from "vitest";
import { DigestAuthenticator } from "../../../lib/sip/digest-server";
import { buildDigestAuthorization } from "../../../lib/sip/digest-client";
import { parseDigestHeader } from "../../../lib/sip/digest-header";
import { computeDigestResponse, computeHa1 } from "../../../lib/sip/digest-hash";
import {
  ephemeralCredentialsLookup,
  ephemeralPassword,
  issueEphemeralCredentials,
  parseEphemeralUsername,
} from "../../../lib/sip/ephemeral-credentials";
import { SipRequest } from "../../../lib/sip/message";
import { parseMessage } from "../../../lib/sip/parser";
import { loadSippFixtures } from "./fixture-loader";

describe("digest hashes: published vectors", () => {
  it("RFC 2617 §3.5 example (MD5, qop=auth)", () => {
    const ha1 = computeHa1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life");
    const r = computeDigestResponse({
      algorithm: "MD5", ha1, method: "GET", uri: "/dir/index.html", nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
      qop: "auth", nc: "00000001", cnonce: "0a4f113b",
    });
    expect(r).toBe("6629fae49393a05397450978507c4ef1");
  });

  it("RFC 7616 §3.9.1 examples (SHA-256 and MD5)", () => {
    const common = {
      method: "GET", uri: "/dir/index.html", nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
      qop: "auth", nc: "00000001", cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    };
    const sha = computeHa1("SHA-256", "Mufasa", "http-auth@example.org", "Circle of Life");
    expect(computeDigestResponse({ ...common, algorithm: "SHA-256", ha1: sha })).toBe("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    const md5 = computeHa1("MD5", "Mufasa", "http-auth@example.org", "Circle of Life");
    expect(computeDigestResponse({ ...common, algorithm: "MD5", ha1: md5 })).toBe("8ca523f5e9506fed4657c9700eebdbec");
  });

  it("client builds the RFC 2617 example Authorization from a challenge", () => {
    const v = buildDigestAuthorization({
      challenge: 'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
      method: "GET", uri: "/dir/index.html", username: "Mufasa", password: "Circle Of Life", cnonce: "0a4f113b",
    });
    const p = parseDigestHeader(v).params;
    expect(p.response).toBe("6629fae49393a05397450978507c4ef1");
    expect(p.opaque).toBe("5ccc069c403ebaf9f0171e9517f40e41");
    expect(p.qop).toBe("auth");
    expect(p.nc).toBe("00000001");
  });

  it("parses the Authorization headers real clients sent (SIPp trace)", () => {
    const reg = loadSippFixtures().map((f) => parseMessage(f.wire)).find((m) => m.hasHeader("Authorization"))!;
    const p = parseDigestHeader(reg.getHeader("Authorization")!);
    expect(p.scheme).toBe("Digest");
    expect(p.params).toMatchObject({ username: "alice", realm: "example.test", qop: "auth", nc: "00000001", algorithm: "MD5" });
  });
});

const REALM = "example.test";
const ha1Md5 = computeHa1("MD5", "alice", REALM, "secret");
const ha1Sha = computeHa1("SHA-256", "alice", REALM, "secret");

function setup(extra: Partial<ConstructorParameters<typeof DigestAuthenticator>[0]> = {}) {
  let now = 1_800_000_000_000;
  const auth = new DigestAuthenticator({
    realm: REALM,
    secret: "0123456789abcdef0123456789abcdef",
    clock: () => now,
    credentialsLookup: async (user, realm, alg) => (user === "alice" && realm === REALM ? (alg === "MD5" ? ha1Md5 : ha1Sha) : undefined),
    ...extra,
  });
  return { auth, advance: (ms: number) => (now += ms) };
}

function register(authorization?: string, header = "Authorization") {
  const req = new SipRequest({
    method: "REGISTER",
    uri: "sip:example.test",
    headers: [
      ["Via", "SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1"],
      ["From", "<sip:alice@example.test>;tag=1"],
      ["To", "<sip:alice@example.test>"],
      ["Call-ID", "c1"],
      ["CSeq", "1 REGISTER"],
    ],
  });
  if (authorization) req.setHeader(header, authorization);
  return req;
}

describe("DigestAuthenticator", () => {
  it("challenges with SHA-256 first then MD5, qop=auth, opaque; 407 for proxies", () => {
    const { auth } = setup();
    const c = auth.challenge();
    expect(c.status).toBe(401);
    expect(c.header).toBe("WWW-Authenticate");
    const parsed = c.values.map((v) => parseDigestHeader(v).params);
    expect(parsed.map((p) => p.algorithm)).toEqual(["SHA-256", "MD5"]);
    expect(parsed[0]).toMatchObject({ realm: REALM, qop: "auth" });
    expect(parsed[0].opaque).toBeTruthy();
    expect(parsed[0].nonce).toBe(parsed[1].nonce);
    expect(auth.challenge({ proxy: true })).toMatchObject({ status: 407, header: "Proxy-Authenticate" });
  });

  it("accepts a correct MD5 and SHA-256 response, rejects a wrong password", async () => {
    const { auth } = setup();
    // the two challenges of one 401 share a nonce; a client answers one of them
    const md5 = auth.challenge().values[1];
    const sha = auth.challenge().values[0];
    const ok1 = await auth.verifyRequest(register(buildDigestAuthorization({ challenge: md5, method: "REGISTER", uri: "sip:example.test", username: "alice", ha1: ha1Md5 })));
    expect(ok1).toEqual({ ok: true, username: "alice", realm: REALM, algorithm: "MD5" });
    const ok2 = await auth.verifyRequest(register(buildDigestAuthorization({ challenge: sha, method: "REGISTER", uri: "sip:example.test", username: "alice", password: "secret" })));
    expect(ok2).toMatchObject({ ok: true, algorithm: "SHA-256" });
    const bad = await auth.verifyRequest(register(buildDigestAuthorization({ challenge: auth.challenge().values[1], method: "REGISTER", uri: "sip:example.test", username: "alice", password: "nope" })));
    expect(bad).toMatchObject({ ok: false, failure: "bad-response", stale: false });
  });

  it("Proxy-Authorization is checked when proxy: true", async () => {
    const { auth } = setup();
    const ch = auth.challenge({ proxy: true }).values[1];
    const req = register(buildDigestAuthorization({ challenge: ch, method: "REGISTER", uri: "sip:example.test", username: "alice", ha1: ha1Md5 }), "Proxy-Authorization");
    expect((await auth.verifyRequest(req, { proxy: true })).ok).toBe(true);
    expect(await auth.verifyRequest(req)).toMatchObject({ ok: false, failure: "missing" });
  });

  it("epoch: a nonce of another epoch (an earlier run, same secret) is stale, even unused; its own epoch's are accepted", async () => {
    const before = setup({ epoch: Buffer.from("01020304", "hex") }).auth;
    const { auth } = setup({ epoch: Buffer.from("0a0b0c0d", "hex") });
    const authz = (a: DigestAuthenticator) => buildDigestAuthorization({ challenge: a.challenge().values[1], method: "REGISTER", uri: "sip:example.test", username: "alice", ha1: ha1Md5 });
    const captured = authz(before);
    expect((await before.verifyRequest(register(captured))).ok).toBe(true);
    // replayed after the "restart": the nonce-count of the earlier run is not known here
    expect(await auth.verifyRequest(register(captured))).toMatchObject({ ok: false, failure: "stale", stale: true });
    expect(await auth.verifyRequest(register(authz(before)))).toMatchObject({ ok: false, failure: "stale", stale: true });
    expect(await auth.verifyRequest(register(authz(auth)))).toMatchObject({ ok: true });
    // without an epoch the nonces of any authenticator with the secret pass (and the epoch's are no exception)
    expect((await setup().auth.verifyRequest(register(authz(auth)))).ok).toBe(true);
    expect(() => setup({ epoch: Buffer.alloc(3) })).toThrow(/4 bytes/);
  });

  it("expired nonce → stale=true; forged nonce → invalid-nonce; unknown user", async () => {
    const { auth, advance } = setup({ nonceTtlSeconds: 60 });
    const md5 = auth.challenge().values[1];
    const authz = buildDigestAuthorization({ challenge: md5, method: "REGISTER", uri: "sip:example.test", username: "alice", ha1: ha1Md5 });
    advance(61_000);
    expect(await auth.verifyRequest(register(authz))).toMatchObject({ ok: false, failure: "stale", stale: true });
    expect(parseDigestHeader(auth.challenge({ stale: true }).values[0]).params.stale).toBe("true");
    const nonce = parseDigestHeader(md5).params.nonce;
    const forged = nonce.slice(0, 30) + (nonce[30] === "A" ? "B" : "A") + nonce.slice(31);
    const authz2 = buildDigestAuthorization({ challenge: md5.replace(nonce, forged), method: "REGISTER", uri: "sip:example.test", username: "alice", ha1: ha1Md5 });
    expect(await auth.verifyRequest(register(authz2))).toMatchObject({ ok: false, failure: "invalid-nonce" });
    const fresh = auth.challenge().values[1];
    const authz3 = buildDigestAuthorization({ challenge: fresh, method: "REGISTER", uri: "sip:example.test", username: "mallory", password: "x" });
    expect(await auth.verifyRequest(register(authz3))).toMatchObject({ ok: false, failure: "unknown-user", username: "mallory" });
  });

  it("replayed nonce-count is refused, an increasing one accepted", async () => {
    const { auth } = setup();
    const md5 = auth.challenge().values[1];
    const mk = (nc: number) => register(buildDigestAuthorization({ challenge: md5, method: "REGISTER", uri: "sip:example.test", username: "alice", ha1: ha1Md5, nc, cnonce: "abc" }));
    expect((await auth.verifyRequest(mk(1))).ok).toBe(true);
    expect(await auth.verifyRequest(mk(1))).toMatchObject({ ok: false, failure: "replay" });
    expect((await auth.verifyRequest(mk(2))).ok).toBe(true);
    expect(await auth.verifyRequest(mk(2))).toMatchObject({ ok: false, failure: "replay" });
  });

  it("replay memory is bounded; an untracked older nonce is answered stale, never trusted", async () => {
    const { auth, advance } = setup({ maxTrackedNonces: 10 });
    const first = auth.challenge().values[1];
    const mk = (ch: string) => register(buildDigestAuthorization({ challenge: ch, method: "REGISTER", uri: "sip:example.test", username: "alice", ha1: ha1Md5, nc: 1, cnonce: "c" }));
    const firstReq = mk(first);
    expect((await auth.verifyRequest(firstReq)).ok).toBe(true);
    for (let i = 0; i < 50; i++) {
      advance(1);
      expect((await auth.verifyRequest(mk(auth.challenge().values[1]))).ok).toBe(true);
    }
    expect(auth.trackedNonces).toBeLessThanOrEqual(10);
    // the first nonce was evicted: replaying its nc=1 must not succeed
    expect(await auth.verifyRequest(firstReq)).toMatchObject({ ok: false, stale: true });
  });

  it("rejects responses without qop, wrong realm, wrong opaque, unsupported algorithm", async () => {
    const { auth } = setup({ algorithms: ["MD5"] });
    const md5 = auth.challenge().values[0];
    const good = buildDigestAuthorization({ challenge: md5, method: "REGISTER", uri: "sip:example.test", username: "alice", ha1: ha1Md5 });
    expect(await auth.verifyRequest(register(good.replace(/, qop=auth/, "")))).toMatchObject({ ok: false, failure: "malformed" });
    expect(await auth.verifyRequest(register(good.replace(`realm="${REALM}"`, 'realm="other"')))).toMatchObject({ ok: false, failure: "realm-mismatch" });
    expect(await auth.verifyRequest(register(good.replace(/opaque="[^"]+"/, 'opaque="x"')))).toMatchObject({ ok: false, failure: "opaque-mismatch" });
    expect(await auth.verifyRequest(register(good.replace("algorithm=MD5", "algorithm=SHA-256")))).toMatchObject({ ok: false, failure: "unsupported-algorithm" });
    expect(await auth.verifyRequest(register('Digest username="alice", realm="example.test"'))).toMatchObject({ ok: false, failure: "malformed" });
    expect(await auth.verifyRequest(register('Digest username="alice'))).toMatchObject({ ok: false, failure: "malformed" });
  });
});

describe("ephemeral credentials (Kamailio autheph)", () => {
  const secret = "autheph-shared-secret";
  it("username is <expiry>:<user>, password base64(HMAC-SHA1(secret, username))", () => {
    const c = issueEphemeralCredentials({ secret, user: "alice", ttlSeconds: 3600, now: 1_700_000_000_000 });
    expect(c.username).toBe("1700003600:alice");
    expect(c.expires).toBe(1_700_003_600);
    expect(c.password).toBe(ephemeralPassword(secret, "1700003600:alice"));
    expect(Buffer.from(c.password, "base64").length).toBe(20);
    expect(parseEphemeralUsername(c.username)).toEqual({ expires: 1_700_003_600, user: "alice" });
  });

  it("valid ephemeral credentials authenticate; expired ones are rejected; others fall back", async () => {
    let now = 1_700_000_000_000;
    const clock = () => now;
    const lookup = ephemeralCredentialsLookup({ secret, clock, fallback: async (u, r, a) => (u === "bob" && a === "MD5" ? computeHa1("MD5", "bob", r, "pw") : undefined) });
    const auth = new DigestAuthenticator({ realm: REALM, secret: "nonce-secret-nonce-secret", credentialsLookup: lookup, clock, nonceTtlSeconds: 100_000 });
    const c = issueEphemeralCredentials({ secret, user: "alice", ttlSeconds: 60, now });
    for (const i of [0, 1]) {
      const ch = auth.challenge().values[i];
      const authz = buildDigestAuthorization({ challenge: ch, method: "REGISTER", uri: "sip:example.test", username: c.username, password: c.password });
      expect((await auth.verifyRequest(register(authz))).ok).toBe(true);
    }
    const bob = buildDigestAuthorization({ challenge: auth.challenge().values[1], method: "REGISTER", uri: "sip:example.test", username: "bob", password: "pw" });
    expect((await auth.verifyRequest(register(bob))).ok).toBe(true);
    now += 61_000;
    const late = buildDigestAuthorization({ challenge: auth.challenge().values[1], method: "REGISTER", uri: "sip:example.test", username: c.username, password: c.password });
    expect(await auth.verifyRequest(register(late))).toMatchObject({ ok: false, failure: "unknown-user" });
    const wrong = issueEphemeralCredentials({ secret: "other-secret", user: "alice", ttlSeconds: 60, now });
    const forged = buildDigestAuthorization({ challenge: auth.challenge().values[1], method: "REGISTER", uri: "sip:example.test", username: wrong.username, password: wrong.password });
    expect(await auth.verifyRequest(register(forged))).toMatchObject({ ok: false, failure: "bad-response" });
  });
});
