/**
 * The portal's XCAP root over real HTTP (createXcapHttp, SQLite, digest with SIP credentials):
 * - ISSUE-11 item 6: no rls-services service URI may be an account's AOR or derived from another
 *   account (`sip:bob+presence@…`); such a document, element or attribute PUT is 409
 *   uniqueness-failure and nothing changes;
 * - item 10: documents and bytes per user (409 constraint-failure / 413), nothing changes;
 * - item 11: a malformed `%` in the path is 400 (not 500); XML nested 5,000 deep is 409
 *   not-well-formed, refused before a DOM is built.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { digestHa1 } from "@/lib/accounts/password";
import { XcapClient } from "@/lib/xcap/client";
import { tempSqliteDb, type TempDb } from "../helpers/temp-db";
import { serveFetch } from "../helpers/xcap-http-server";
import { testXcapHttp } from "../helpers/test-xcap-http";

const RLS_NS = "urn:ietf:params:xml:ns:rls-services";
const rls = (...uris: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<rls-services xmlns="${RLS_NS}">${uris.map((u) => `<service uri="${u}"><list/><packages><package>presence</package></packages></service>`).join("")}</rls-services>`;
const rl = (name: string, pad = 0) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="${name}">${pad ? `<!--${"x".repeat(pad)}-->` : ""}</list></resource-lists>`;

describe("portal XCAP root: service URIs, quotas, malformed paths and deep XML", () => {
  let t: TempDb;
  let srv: Awaited<ReturnType<typeof serveFetch>>;
  let x: ReturnType<typeof testXcapHttp>;

  beforeAll(async () => {
    t = await tempSqliteDb();
    await addDomain(t.db, "example.test");
    for (const u of ["alice", "bob", "carol", "dave"]) await addAccount(t.db, { address: `${u}@example.test`, password: `${u[0]!.toUpperCase()}${u.slice(1)}-pass1` });
    x = testXcapHttp(t.db, { limits: { maxDocumentsPerUser: 4, maxBytesPerUser: 8 * 1024 } });
    srv = await serveFetch((r) => x.handle(r));
  });
  afterAll(async () => {
    await srv?.close();
    await t?.close();
  });

  const client = (user: string) =>
    new XcapClient({
      root: `${srv.url}/xcap-root`,
      xui: `sip:${user}@example.test`,
      auth: { username: user, ha1: digestHa1(user, "example.test", `${user[0]!.toUpperCase()}${user.slice(1)}-pass1`) },
    });

  describe("squatting another user's address as an RLS service (item 6)", () => {
    it("alice's document claiming bob's AOR → 409 with the RFC 4826 uniqueness reason; nothing stored", async () => {
      const res = await client("alice")
        .putDocument("rls-services", "index", rls("sip:alice+presence@example.test", "sip:bob@example.test"))
        .catch((e) => e);
      expect(res).toMatchObject({ status: 409, condition: { name: "uniqueness-failure" } });
      expect(res.body).toContain(
        '<uniqueness-failure phrase="service URI already in use: sip:bob@example.test"><exists field="rls-services/service/@uri"><alt-value>sip:alice+bob@example.test</alt-value></exists></uniqueness-failure>',
      );
      expect(await t.db.xcapDocument.count({ where: { auid: "rls-services" } })).toBe(0);
      expect(await t.db.rlsServiceUri.count()).toBe(0);
    });

    it("her own AOR, bob's list URI (sip:bob+presence) and a case variant are refused too", async () => {
      for (const uri of ["sip:alice@example.test", "sip:bob+presence@example.test", "sip:Bob@EXAMPLE.test"]) {
        await expect(client("alice").putDocument("rls-services", "index", rls(uri)), uri).rejects.toMatchObject({ status: 409, condition: { name: "uniqueness-failure" } });
      }
      expect(await t.db.rlsServiceUri.count()).toBe(0);
    });

    it("her own service URIs are stored; element and attribute PUTs onto bob's AOR change nothing", async () => {
      const alice = client("alice");
      const put = await alice.putDocument("rls-services", "index", rls("sip:alice+presence@example.test"));
      expect(put.created).toBe(true);
      const before = (await alice.getDocument("rls-services", "index"))!;
      await expect(
        alice.putElement("rls-services", "index", '/rls-services/service[@uri="sip:bob@example.test"]', '<service uri="sip:bob@example.test"><list/></service>'),
      ).rejects.toMatchObject({ status: 409, condition: { name: "uniqueness-failure" } });
      const att = await x.handleAs(
        new Request(`${srv.url}/xcap-root/rls-services/users/sip:alice@example.test/index/~~/rls-services/service/@uri`, {
          method: "PUT",
          body: "sip:bob@example.test",
          headers: { "content-type": "application/xcap-att+xml" },
        }),
        "alice@example.test",
      );
      expect(att.status).toBe(409);
      expect(await att.text()).toContain('<exists field="rls-services/service/@uri">');
      const after = (await alice.getDocument("rls-services", "index"))!;
      expect(after.etag).toBe(before.etag);
      expect((await t.db.rlsServiceUri.findMany()).map((r) => r.uri)).toEqual(["sip:alice+presence@example.test"]);
    });

    it("a list URI an older Herald let alice claim (sip:dave+presence) moves to dave when dave writes his services", async () => {
      await t.db.xcapDocument.create({
        data: { auid: "rls-services", scope: "users", xui: "sip:alice@example.test", path: "legacy", content: rls("sip:dave+presence@example.test"), etag: "legacy" },
      });
      await t.db.rlsServiceUri.create({
        data: { uri: "sip:dave+presence@example.test", xui: "sip:alice@example.test", path: JSON.stringify(["rls-services", "users", "sip:alice@example.test", "legacy"]) },
      });
      await expect(client("dave").putDocument("rls-services", "index", rls("sip:dave+presence@example.test"))).resolves.toMatchObject({ created: true });
      expect(await t.db.rlsServiceUri.findUnique({ where: { uri: "sip:dave+presence@example.test" } })).toMatchObject({ xui: "sip:dave@example.test" });
      // alice's own write of that document is refused now, and removing it leaves dave's claim
      await expect(client("alice").putDocument("rls-services", "legacy", rls("sip:dave+presence@example.test"))).rejects.toMatchObject({ status: 409 });
      expect(await client("alice").deleteDocument("rls-services", "legacy")).toBe(true);
      expect(await t.db.rlsServiceUri.findUnique({ where: { uri: "sip:dave+presence@example.test" } })).toMatchObject({ xui: "sip:dave@example.test" });
      await expect(client("dave").deleteDocument("rls-services", "index")).resolves.toBe(true);
    });

    it("an account added later cannot be squatted either (the check reads the accounts table)", async () => {
      await expect(client("carol").putDocument("rls-services", "index", rls("sip:erin@example.test"))).resolves.toMatchObject({ created: true });
      await addAccount(t.db, { address: "frank@example.test", password: "Frank-pass1" });
      await expect(client("carol").putDocument("rls-services", "index", rls("sip:frank@example.test"))).rejects.toMatchObject({ status: 409 });
    });
  });

  describe("quotas (item 10)", () => {
    it("one document more than XCAP_MAX_DOCUMENTS_PER_USER → 409 constraint-failure with the reason; nothing stored", async () => {
      const dave = client("dave");
      for (let i = 0; i < 4; i++) await dave.putDocument("resource-lists", `doc${i}`, rl("a"));
      const res = await dave.putDocument("resource-lists", "doc4", rl("a")).catch((e) => e);
      expect(res).toMatchObject({ status: 409, condition: { name: "constraint-failure" } });
      expect(res.body).toContain("document quota reached: a user may keep at most 4 documents");
      expect(await t.db.xcapDocument.count({ where: { xui: "sip:dave@example.test" } })).toBe(4);
      expect(await dave.deleteDocument("resource-lists", "doc3")).toBe(true);
    });

    it("growing past XCAP_MAX_BYTES_PER_USER → 413; the stored bytes are counted in UTF-8", async () => {
      const dave = client("dave");
      // 3 documents in use; "é" is 2 bytes in UTF-8: 3,000 of them fill 6 KB
      const heavy = rl("a").replace("<list", `<!--${"é".repeat(3000)}--><list`);
      await expect(dave.putDocument("resource-lists", "doc0", heavy)).resolves.toMatchObject({ created: false });
      await expect(dave.putDocument("resource-lists", "doc1", heavy)).rejects.toMatchObject({ status: 413 });
      expect((await dave.getDocument("resource-lists", "doc1"))!.xml).toBe(rl("a"));
      await expect(dave.putDocument("resource-lists", "doc1", rl("b"))).resolves.toMatchObject({ created: false });
    });
  });

  describe("malformed input gets a 4xx, never a 500 (item 11)", () => {
    it("a malformed % escape in the XUI (or the document path) → 400, with or without credentials", async () => {
      for (const p of [
        "resource-lists/users/sip:alice%zz@example.test/index",
        "resource-lists/users/sip:alice%@example.test/index",
        "resource-lists/users/sip:alice%C3%28@example.test/index",
        "resource-lists/users/sip:alice@example.test/in%GGdex",
        "org.openmobilealliance.pres-content/users/sip:alice%zz@example.test/oma_status-icon/index",
      ]) {
        const res = await fetch(`${srv.url}/xcap-root/${p}`, { headers: { accept: "image/png" } });
        expect(res.status, p).toBe(400);
        expect(await res.text()).toMatch(/percent-encoding/);
      }
      const put = await x.handleAs(
        new Request(`${srv.url}/xcap-root/resource-lists/users/sip:alice%zz@example.test/index`, { method: "PUT", body: rl("a"), headers: { "content-type": "application/resource-lists+xml" } }),
        "alice@example.test",
      );
      expect(put.status).toBe(400);
    });

    it("XML nested 5,000 deep → 409 not-well-formed before a DOM is built; nothing stored", async () => {
      const deep = `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a">${"<list>".repeat(5000)}${"</list>".repeat(5000)}</list></resource-lists>`;
      const res = await client("bob").putDocument("resource-lists", "index", deep).catch((e) => e);
      expect(res).toMatchObject({ status: 409, condition: { name: "not-well-formed" } });
      expect(res.body).toContain("nested deeper than 100 levels");
      expect(await t.db.xcapDocument.count({ where: { xui: "sip:bob@example.test" } })).toBe(0);
    });
  });
});
