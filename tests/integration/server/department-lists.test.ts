/**
 * Department lists (ISSUE-16 item 4) served by the RLS of `herald start`'s embedded server, on real
 * SQLite and real TCP: any user of the list's domain subscribes to `sip:engineering@example.test`
 * (RFC 4662); each member's own pres-rules decide what that subscriber sees; a user of another
 * domain is refused; changing the members through lib/accounts/department-lists updates running
 * subscriptions at once, and deleting the list ends them.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { createDepartmentList, deleteDepartmentList, updateDepartmentList } from "@/lib/accounts/department-lists";
import { loadConfig } from "@/lib/config";
import { startEmbeddedSipServer, type RunningSipServer } from "@/lib/server/main";
import { PrismaXcapStore } from "@/lib/storage/xcap-prisma-store";
import { parsePidf } from "@/lib/presence";
import type { SipRequest } from "@/lib/sip";
import { SipTestClient } from "../../helpers/sip-client";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";
import { LIST_HEADERS, OMA_RULES, RlsXcap, instances, parseListNotify, pidfDoc, rulesXml } from "./rls-harness";

const LIST = "sip:engineering@example.test";
const ALICE = "sip:alice@example.test";
const BOB = "sip:bob@example.test";
const CAROL = "sip:carol@example.test";
const DAVE = "sip:dave@example.test";
const PASSWORD = "Secret-pass1";

let t: TempDb;
let sip: RunningSipServer;
let xcap: RlsXcap;
const clients: SipTestClient[] = [];

const isList = (n: SipRequest) => (n.getHeader("Content-Type") ?? "").startsWith("multipart/related");

async function client(user: string, domain = "example.test"): Promise<SipTestClient> {
  const c = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user, domain, password: PASSWORD });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  t = await tempSqliteDb();
  const cfg = loadConfig({ HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-dept-")), DATABASE_URL: t.url, SIP_HOST: "127.0.0.1", SIP_PORT: "0", SIP_NOTIFY_INTERVAL_MS: "0" });
  await addDomain(t.db, "example.test");
  await addDomain(t.db, "other.test");
  for (const u of ["alice", "bob", "carol", "dave"]) await addAccount(t.db, { address: `${u}@example.test`, password: PASSWORD });
  await addAccount(t.db, { address: "olga@other.test", password: PASSWORD });
  xcap = new RlsXcap(new PrismaXcapStore(t.db));
  sip = await startEmbeddedSipServer(cfg, t.db, { store: xcap.store, subscribe: xcap.subscribe }, { rls: { batchWindowMs: 50 } });
  // alice lets carol see her; bob blocks carol; dave has no rules (confirm: pending)
  await xcap.put(ALICE, OMA_RULES, rulesXml(ALICE, [{ id: "a", identities: [CAROL], handling: "allow" }]));
  await xcap.put(BOB, OMA_RULES, rulesXml(BOB, [{ id: "b", identities: [CAROL], handling: "block" }]));
  await createDepartmentList(t.db, { address: "engineering@example.test", displayName: "Engineering", members: [{ address: "alice@example.test", displayName: "Alice" }, { address: BOB }] });
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await sip?.stop();
  await t?.close();
});

describe("department lists over the RLS", { timeout: 60_000 }, () => {
  it("any user of the domain subscribes; each member's rules decide (bob blocks carol: no state of his); member changes and deletion reach the subscriber", async () => {
    const alice = await client("alice");
    expect((await alice.publish(pidfDoc(ALICE, "open", "Alice at her desk"))).status).toBe(200);
    const carol = await client("carol");
    const { response, sub } = await carol.subscribe(LIST, { headers: LIST_HEADERS });
    expect(response.status).toBe(200);
    const first = parseListNotify(await carol.waitForNotify(isList, { sub }));
    expect(first.rlmi).toMatchObject({ uri: LIST, fullState: true });
    expect(first.rlmi!.resources.map((r) => r.uri)).toEqual([ALICE, BOB]);
    let inst = instances(first);
    expect(inst.get(ALICE)).toMatchObject({ state: "active" });
    expect(parsePidf(inst.get(ALICE)!.pidf!).tuples[0]?.basic).toBe("open");
    expect(inst.get(BOB)).toMatchObject({ state: "terminated", reason: "rejected", pidf: undefined });

    // the operator adds dave (no rules: pending for carol) and takes alice out
    let from = carol.notifies(sub).length;
    await updateDepartmentList(t.db, "engineering@example.test", { add: [{ address: DAVE }] });
    const added = parseListNotify(await carol.waitForNotify((n) => isList(n) && n.bodyText.includes(DAVE), { sub, from }));
    inst = instances(added);
    expect(inst.get(DAVE)).toMatchObject({ state: "pending" });
    from = carol.notifies(sub).length;
    await updateDepartmentList(t.db, "engineering@example.test", { remove: ["alice@example.test"] });
    const removed = parseListNotify(await carol.waitForNotify((n) => isList(n) && n.bodyText.includes('fullState="true"') && !n.bodyText.includes(ALICE), { sub, from }));
    expect(removed.rlmi).toMatchObject({ fullState: true });
    expect(removed.rlmi!.resources.map((r) => r.uri)).toEqual([BOB, DAVE]);

    // deleted: the list subscription ends (RFC 6665 §4.2.2)
    from = carol.notifies(sub).length;
    await deleteDepartmentList(t.db, "engineering@example.test");
    const last = await carol.waitForNotify((n) => /^terminated/.test(n.getHeader("Subscription-State") ?? ""), { sub, from });
    expect(last.getHeader("Subscription-State")).toMatch(/reason=noresource/);
    await createDepartmentList(t.db, { address: "engineering@example.test", members: [{ address: ALICE }, { address: BOB }] });
  });

  it("a user of another domain is refused (403); without Supported: eventlist 421; an unknown list 404", async () => {
    const olga = await client("olga", "other.test");
    expect((await olga.subscribe(LIST, { headers: LIST_HEADERS })).response.status).toBe(403);
    const dave = await client("dave");
    expect((await dave.subscribe(LIST)).response.status).toBe(421);
    expect((await dave.subscribe("sip:nosuchlist@example.test", { headers: LIST_HEADERS })).response.status).toBe(404);
    const ok = await dave.subscribe(LIST, { headers: LIST_HEADERS });
    expect(ok.response.status).toBe(200);
    const n = parseListNotify(await dave.waitForNotify(isList, { sub: ok.sub }));
    // alice's rules name only carol: dave matches no rule (block), bob has no rule for dave (block)
    expect(n.rlmi!.resources.map((r) => r.uri)).toEqual([ALICE, BOB]);
    expect([...instances(n).values()].every((i) => i.pidf === undefined)).toBe(true);
  });
});
