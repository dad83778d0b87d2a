/**
 * ISSUE-11 item 8: XCAP digest credentials are looked up by (user, domain of the XUI in the path),
 * not by (user, realm): two domains sharing a realm each have their own alice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { digestHa1 } from "@/lib/accounts/password";
import { XcapClient } from "@/lib/xcap/client";
import { tempSqliteDb, type TempDb } from "../helpers/temp-db";
import { serveFetch } from "../helpers/xcap-http-server";
import { testXcapHttp } from "../helpers/test-xcap-http";

const REALM = "shared.example";
const RL = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="buddies"/></resource-lists>`;

describe("XCAP digest with two domains sharing one realm", () => {
  let t: TempDb;
  let srv: Awaited<ReturnType<typeof serveFetch>>;
  beforeAll(async () => {
    t = await tempSqliteDb();
    await addDomain(t.db, "example.test", { realm: REALM });
    await addDomain(t.db, "other.test", { realm: REALM });
    await addAccount(t.db, { address: "alice@example.test", password: "Example-pass1" });
    await addAccount(t.db, { address: "alice@other.test", password: "Other-pass1" });
    const x = testXcapHttp(t.db, { credentialsTtlMs: 0 });
    srv = await serveFetch((r) => x.handle(r));
  });
  afterAll(async () => {
    await srv?.close();
    await t?.close();
  });

  const as = (xui: string, password: string) =>
    new XcapClient({ root: `${srv.url}/xcap-root`, xui, auth: { username: "alice", ha1: digestHa1("alice", REALM, password) } });

  it("alice@example.test's password does not write alice@other.test's documents", async () => {
    await expect(as("sip:alice@other.test", "Example-pass1").putDocument("resource-lists", "index", RL)).rejects.toMatchObject({ status: 401 });
    expect(await t.db.xcapDocument.count()).toBe(0);
  });

  it("each alice writes her own tree with her own password", async () => {
    await as("sip:alice@example.test", "Example-pass1").putDocument("resource-lists", "index", RL);
    await as("sip:alice@other.test", "Other-pass1").putDocument("resource-lists", "index", RL);
    await expect(as("sip:alice@example.test", "Other-pass1").getDocument("resource-lists", "index")).rejects.toMatchObject({ status: 401 });
    expect(await as("sip:alice@other.test", "Other-pass1").getDocument("resource-lists", "index")).toBeTruthy();
  });
});
