/**
 * The embedded XCAP root as the portal serves it: digest auth with SIP credentials (and
 * short-lived ones), the portal session, the Prisma store (ETags, concurrent writers, service URI
 * uniqueness across users) and change events.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { digestHa1 } from "@/lib/accounts/password";
import { XcapClient } from "@/lib/xcap/client";
import type { XcapChangeEvent } from "@/lib/xcap/server";
import { buildDigestAuthorization, issueEphemeralCredentials, parseDigestHeader } from "@/lib/sip";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";
import { serveFetch } from "../../helpers/xcap-http-server";
import { testXcapHttp } from "../../helpers/test-xcap-http";

const RL = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="buddies"><entry uri="sip:bob@example.test"/></list></resource-lists>`;

describe("embedded XCAP root over HTTP", () => {
  let t: TempDb;
  let srv: Awaited<ReturnType<typeof serveFetch>>;
  const events: XcapChangeEvent[] = [];
  let sessionAor: string | null = null;
  const SECRET = "ephemeral-secret-for-tests";

  beforeAll(async () => {
    t = await tempSqliteDb();
    await addDomain(t.db, "example.test");
    await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1" });
    await addAccount(t.db, { address: "bob@example.test", password: "Bob-pass1" });
    const x = testXcapHttp(t.db, { ephemeralSecret: SECRET, sessionAor: async () => sessionAor, onChange: (e) => events.push(e) });
    srv = await serveFetch((r) => x.handle(r));
  });
  afterAll(async () => {
    await srv?.close();
    await t?.close();
  });

  const client = (user: string, password: string, xuiUser = user) =>
    new XcapClient({
      root: `${srv.url}/xcap-root`,
      xui: `sip:${xuiUser}@example.test`,
      auth: { username: user, ha1: digestHa1(user, "example.test", password) },
    });

  it("challenges without credentials with a digest realm of the user's domain", async () => {
    const res = await fetch(`${srv.url}/xcap-root/resource-lists/users/sip:alice@example.test/index`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/Digest realm="example.test".*qop="auth"/);
  });

  it("a request captured before a restart is not replayable after it: a nonce of an earlier run is answered stale", async () => {
    const uri = "/xcap-root/resource-lists/users/sip:alice@example.test/index";
    // one challenge per algorithm (MD5 first), joined by fetch into one value
    const challenge = (await fetch(`${srv.url}${uri}`)).headers.get("www-authenticate")!.split(/,\s*(?=Digest )/)[0]!;
    const authorization = buildDigestAuthorization({ challenge, method: "GET", uri, username: "alice", password: "Alice-pass1", nc: 1, cnonce: "captured" });
    const first = await fetch(`${srv.url}${uri}`, { headers: { authorization } });
    expect([200, 404]).toContain(first.status); // authenticated: the document or none
    // the same request again in this run: its nonce count was used
    expect((await fetch(`${srv.url}${uri}`, { headers: { authorization } })).status).toBe(401);
    // "after a restart": another XcapHttp with the same secrets, its counts empty
    const restarted = testXcapHttp(t.db, { ephemeralSecret: SECRET, sessionAor: async () => null });
    const replay = await restarted.handle(new Request(`http://127.0.0.1${uri}`, { headers: { authorization } }));
    expect(replay.status).toBe(401);
    expect(parseDigestHeader(replay.headers.get("www-authenticate")!.split(/,\s*(?=Digest )/)[0]!).params.stale).toBe("true");
  });

  it("round-trips a document with digest (HA1) and emits a change event", async () => {
    const alice = client("alice", "Alice-pass1");
    const put = await alice.putDocument("resource-lists", "index", RL, { ifNoneMatch: "*" });
    expect(put.created).toBe(true);
    const got = await alice.getDocument("resource-lists", "index");
    expect(got?.xml).toContain('entry uri="sip:bob@example.test"');
    expect(got?.etag).toBe(put.etag);
    expect(events.at(-1)).toMatchObject({ user: "sip:alice@example.test", auid: "resource-lists", document: "index", action: "create" });
  });

  it("refuses a wrong password and another user's tree", async () => {
    await expect(client("alice", "wrong-pass1").getDocument("resource-lists", "index")).rejects.toMatchObject({ status: 401 });
    await expect(client("bob", "Bob-pass1", "alice").getDocument("resource-lists", "index")).rejects.toMatchObject({ status: 403 });
  });

  it("accepts short-lived SIP credentials and the portal session", async () => {
    const eph = issueEphemeralCredentials({ secret: SECRET, user: "alice", ttlSeconds: 60 });
    const c = new XcapClient({
      root: `${srv.url}/xcap-root`,
      xui: "sip:alice@example.test",
      auth: { username: eph.username, ha1: digestHa1(eph.username, "example.test", eph.password) },
    });
    expect((await c.getDocument("resource-lists", "index"))?.xml).toContain("buddies");
    sessionAor = "alice@example.test";
    try {
      const res = await fetch(`${srv.url}/xcap-root/resource-lists/users/sip:alice@example.test/index`);
      expect(res.status).toBe(200);
    } finally {
      sessionAor = null;
    }
  });

  it("two concurrent writers through update() never lose an update", async () => {
    const a = client("alice", "Alice-pass1");
    const b = client("alice", "Alice-pass1");
    const add = (c: XcapClient, uri: string) =>
      c.update("resource-lists", "index", (doc) => {
        const list = doc.getElementsByTagNameNS("urn:ietf:params:xml:ns:resource-lists", "list")[0];
        const e = doc.createElementNS("urn:ietf:params:xml:ns:resource-lists", "entry");
        e.setAttribute("uri", uri);
        list.appendChild(e);
      });
    await Promise.all([add(a, "sip:carol@example.test"), add(b, "sip:dave@example.test"), add(a, "sip:erin@example.test")]);
    const xml = (await a.getDocument("resource-lists", "index"))!.xml;
    for (const u of ["bob", "carol", "dave", "erin"]) expect(xml).toContain(`sip:${u}@example.test`);
  });

  it("keeps rls-services service URIs unique across users and stores nothing on conflict", async () => {
    const rls = (uri: string) =>
      `<?xml version="1.0" encoding="UTF-8"?><rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="${uri}"><list/><packages><package>presence</package></packages></service></rls-services>`;
    await client("alice", "Alice-pass1").putDocument("rls-services", "index", rls("sip:alice+presence@example.test"));
    const bob = client("bob", "Bob-pass1");
    await expect(bob.putDocument("rls-services", "index", rls("sip:alice+presence@example.test"))).rejects.toMatchObject({
      status: 409,
      condition: { name: "uniqueness-failure" },
    });
    expect(await bob.getDocument("rls-services", "index")).toBeNull();
    expect(await t.db.rlsServiceUri.findMany()).toEqual([
      expect.objectContaining({ uri: "sip:alice+presence@example.test", xui: "sip:alice@example.test" }),
    ]);
  });

  it("refuses bodies over the limit with 413 and stores nothing", async () => {
    const big = RL.replace("<list", `<!-- ${"x".repeat(70 * 1024)} --><list`);
    await expect(client("alice", "Alice-pass1").putDocument("resource-lists", "big", big)).rejects.toMatchObject({ status: 413 });
    expect(await t.db.xcapDocument.count({ where: { path: "big" } })).toBe(0);
  });

  it("serves the global xcap-caps read-only", async () => {
    const alice = client("alice", "Alice-pass1");
    const caps = await alice.getDocument("xcap-caps", "index", { global: true });
    expect(caps?.xml).toContain("org.openmobilealliance.pres-rules");
    await expect(alice.putDocument("xcap-caps", "index", "<x/>", { global: true, contentType: "application/xcap-caps+xml" })).rejects.toMatchObject({
      status: expect.any(Number),
    });
    expect(await t.db.xcapDocument.count({ where: { scope: "global" } })).toBe(0);
  });
});

describe("icon at its XCAP URL", () => {
  it("serves the pres-content document to XCAP clients and the decoded image to browsers, without auth", async () => {
    const t = await tempSqliteDb();
    try {
      await addDomain(t.db, "example.test");
      await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1" });
      const x = testXcapHttp(t.db);
      const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
      const doc = `<?xml version="1.0" encoding="UTF-8"?><content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/png</mime-type><encoding>base64</encoding><data>${png.toString("base64")}</data></content>`;
      const url = "http://h/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index";
      const put = await x.handleAs(new Request(url, { method: "PUT", body: doc, headers: { "content-type": "application/vnd.oma.pres-content+xml" } }), "alice@example.test");
      expect(put.status).toBe(201);
      const asXcap = await x.handle(new Request(url));
      expect(asXcap.status).toBe(200);
      expect(await asXcap.text()).toContain("<mime-type>image/png</mime-type>");
      const asImg = await x.handle(new Request(url, { headers: { accept: "image/avif,image/webp,image/apng,image/*,*/*;q=0.8" } }));
      expect(asImg.status).toBe(200);
      expect(asImg.headers.get("content-type")).toBe("image/png");
      expect(Buffer.from(await asImg.arrayBuffer()).equals(png)).toBe(true);
    } finally {
      await t.close();
    }
  });
});
