/**
 * xcap-diff (RFC 5875, RFC 5874 documents) end to end: a raw SIP client over TCP subscribes as
 * python-sipsimple (Blink) does — `Event: xcap-diff`, `Accept: application/xcap-diff+xml`, a
 * resource-lists body naming the XCAP URIs it watches — and follows changes made by the portal's
 * server actions and by a raw XCAP client, with the right previous/new ETags; only its own
 * documents; after a restart the subscription is back and gets full state. Real SQLite, real
 * sockets, the process's XCAP change bus.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { digestHa1 } from "@/lib/accounts/password";
import { loadConfig, type HeraldConfig } from "@/lib/config";
import { addressBookFor } from "@/lib/portal/presence-documents";
import { xcapEvents } from "@/lib/portal/xcap-events";
import { startEmbeddedSipServer, type RunningSipServer } from "@/lib/server/main";
import { PrismaXcapStore } from "@/lib/storage/xcap-prisma-store";
import { XcapClient } from "@/lib/xcap/client";
import { parseXcapDiff, XCAP_DIFF_TYPE } from "@/lib/xcap/diff";
import { Dialog, generateCallId, generateTag, type SipRequest } from "@/lib/sip";
import { SipTestClient, type ClientSubscription } from "../../helpers/sip-client";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";
import { testXcapHttp } from "../../helpers/test-xcap-http";
import { serveFetch } from "../../helpers/xcap-http-server";

const XCAP_ROOT = "http://localhost:3999/xcap-root";
const ALICE = "sip:alice@example.test";
const RL = `resource-lists/users/${ALICE}/index`;

let t: TempDb;
let cfg: HeraldConfig;
let sip: RunningSipServer;
let xcap: Awaited<ReturnType<typeof serveFetch>>;
const clients: SipTestClient[] = [];

function start(): Promise<RunningSipServer> {
  return startEmbeddedSipServer(cfg, t.db, { store: new PrismaXcapStore(t.db), subscribe: xcapEvents().subscribe }, { rls: false, logger: () => {}, persistDelayMs: 20 });
}

beforeAll(async () => {
  cfg = loadConfig({ HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-xcap-diff-")), PORT: "3999", SIP_HOST: "127.0.0.1", SIP_PORT: "0" });
  (globalThis as { __heraldConfig?: unknown }).__heraldConfig = cfg;
  t = await tempSqliteDb();
  await addDomain(t.db, "example.test");
  await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1" });
  await addAccount(t.db, { address: "bob@example.test", password: "Bob-pass-1" });
  sip = await start();
  // a raw XCAP client (as Blink) reaches the same root over HTTP; its writes go on the same bus
  const x = testXcapHttp(t.db, { onChange: (e) => xcapEvents().emit(e) });
  xcap = await serveFetch((r) => x.handle(r));
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await sip?.stop();
  await xcap?.close();
  await t?.close();
});

async function client(user = "alice", password = "Alice-pass1"): Promise<SipTestClient> {
  const c = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user, domain: "example.test", password });
  clients.push(c);
  return c;
}

/** A SUBSCRIBE as python-sipsimple sends it: own AOR, resource-lists body of relative XCAP URIs. */
async function subscribeXcapDiff(c: SipTestClient, uris: string[] | null, opts: { target?: string; contentType?: string } = {}) {
  const target = opts.target ?? c.aor;
  const body =
    uris === null
      ? undefined
      : `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>${uris.map((u) => `<entry uri="${u}"/>`).join("")}</list></resource-lists>`;
  const callId = generateCallId("test");
  const fromTag = generateTag();
  let req!: SipRequest;
  const response = await c.requestWithAuth(() => {
    req = c.build("SUBSCRIBE", target, {
      callId,
      fromTag,
      headers: [["Event", "xcap-diff"], ["Expires", "600"], ["Accept", XCAP_DIFF_TYPE]],
      body,
      contentType: body === undefined ? undefined : opts.contentType ?? "application/resource-lists+xml",
    });
    return req;
  });
  const sub: ClientSubscription | undefined = response.status < 300 ? { dialog: Dialog.createUac(req, response), request: req, response, event: "xcap-diff" } : undefined;
  return { response, sub };
}

function diffOf(n: SipRequest) {
  expect(n.contentType?.value).toBe(XCAP_DIFF_TYPE);
  return parseXcapDiff(n.bodyText);
}

async function storedEtag(auid: string, user = ALICE): Promise<string | null> {
  const d = await t.db.xcapDocument.findUnique({ where: { auid_scope_xui_path: { auid, scope: "users", xui: user, path: "index" } } });
  return d?.etag ?? null;
}

const blink = () =>
  new XcapClient({ root: `${xcap.url}/xcap-root`, xui: ALICE, auth: { username: "alice", ha1: digestHa1("alice", "example.test", "Alice-pass1") } });

describe("xcap-diff (RFC 5875)", () => {
  it("full state first, then every change the portal or a raw XCAP client makes, with previous and new ETag", async () => {
    // a document exists before the subscription: the portal's server action adds a contact
    await (await addressBookFor("alice@example.test")).addContact({ name: "Bob", uris: ["bob@example.test"] });
    const rl0 = await storedEtag("resource-lists");
    expect(rl0).toBeTruthy();

    const c = await client();
    const { response, sub } = await subscribeXcapDiff(c, [RL, `org.openmobilealliance.pres-rules/users/${ALICE}/index`, `pidf-manipulation/users/${ALICE}/index`]);
    expect(response.status).toBe(200);
    const first = diffOf(await c.waitForNotify(() => true, { sub }));
    expect(first.xcapRoot).toBe(`${XCAP_ROOT}/`);
    expect(first.documents).toContainEqual(expect.objectContaining({ sel: RL, auid: "resource-lists", newEtag: rl0, previousEtag: null }));
    expect(first.documents.map((d) => d.auid).sort()).toEqual(["org.openmobilealliance.pres-rules", "resource-lists"]); // rls-services is not watched

    // the portal's server action adds a group → resource-lists changes
    let from = c.notifies(sub).length;
    await (await addressBookFor("alice@example.test")).createGroup({ name: "Friends" });
    const rl1 = await storedEtag("resource-lists");
    const n1 = diffOf(await c.waitForNotify((n) => parseXcapDiff(n.bodyText).documents.some((d) => d.sel === RL && d.newEtag === rl1), { sub, from }));
    expect(n1.documents.find((d) => d.sel === RL)).toMatchObject({ previousEtag: rl0, newEtag: rl1 });

    // a raw XCAP client (as Blink) writes the offline status: created, so no previous ETag
    from = c.notifies(sub).length;
    const pidf = `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${ALICE}"><tuple id="t1"><status><basic>closed</basic></status><note>Away for lunch</note></tuple></presence>`;
    await blink().putDocument("pidf-manipulation", "index", pidf);
    const pm = await storedEtag("pidf-manipulation");
    const n2 = diffOf(await c.waitForNotify((n) => n.bodyText.includes("pidf-manipulation"), { sub, from }));
    expect(n2.documents).toEqual([{ sel: `pidf-manipulation/users/${ALICE}/index`, auid: "pidf-manipulation", newEtag: pm, previousEtag: null }]);

    // and a raw XCAP DELETE: previous only
    from = c.notifies(sub).length;
    await blink().deleteDocument("pidf-manipulation", "index");
    const n3 = diffOf(await c.waitForNotify((n) => n.bodyText.includes("pidf-manipulation"), { sub, from }));
    expect(n3.documents).toEqual([{ sel: `pidf-manipulation/users/${ALICE}/index`, auid: "pidf-manipulation", newEtag: null, previousEtag: pm }]);
  });

  it("without a body: every document of the user; another user's writes are not sent", async () => {
    const c = await client();
    const { response, sub } = await subscribeXcapDiff(c, null);
    expect(response.status).toBe(200);
    const first = diffOf(await c.waitForNotify(() => true, { sub }));
    expect(first.documents.map((d) => d.auid)).toEqual(expect.arrayContaining(["resource-lists", "rls-services", "org.openmobilealliance.pres-rules"]));
    const from = c.notifies(sub).length;
    await (await addressBookFor("bob@example.test")).addContact({ name: "Alice", uris: ["alice@example.test"] });
    await (await addressBookFor("alice@example.test")).createGroup({ name: "Work" });
    const n = await c.waitForNotify(() => true, { sub, from });
    expect(diffOf(n).documents.every((d) => d.sel.includes(`/users/${ALICE}/`))).toBe(true);
  });

  it("only one's own documents: 403 for another user's AOR or XCAP URIs; 415 for another body type", async () => {
    const c = await client();
    expect((await subscribeXcapDiff(c, [RL], { target: "sip:bob@example.test" })).response.status).toBe(403);
    expect((await subscribeXcapDiff(c, ["resource-lists/users/sip:bob@example.test/index"])).response.status).toBe(403);
    expect((await subscribeXcapDiff(c, ["xcap-caps/global/index"])).response.status).toBe(403);
    expect((await subscribeXcapDiff(c, ["http://elsewhere.example/xcap-root/resource-lists/users/sip:alice@example.test/index"])).response.status).toBe(403);
    const wrongType = await subscribeXcapDiff(c, [RL], { contentType: "application/xml" });
    expect(wrongType.response.status).toBe(415);
    expect(wrongType.response.getHeader("Accept")).toBe("application/resource-lists+xml");
  });

  it("survives a restart: the restored subscription gets full state, then changes", async () => {
    const c = await client();
    await c.listen(); // the restarted server connects to our Contact
    const { response, sub } = await subscribeXcapDiff(c, [`resource-lists/users/${ALICE}/`]);
    expect(response.status).toBe(200);
    await c.waitForNotify(() => true, { sub });
    await sip.stop();
    // a change while the server is down: the XCAP root still takes writes
    await (await addressBookFor("alice@example.test")).createGroup({ name: "While down" });
    const whileDown = await storedEtag("resource-lists");
    const from = c.notifies(sub).length;
    sip = await start();
    const full = diffOf(await c.waitForNotify(() => true, { sub, from, timeoutMs: 10_000 }));
    expect(full.documents).toEqual([{ sel: RL, auid: "resource-lists", newEtag: whileDown, previousEtag: null }]);
    const next = c.notifies(sub).length;
    await (await addressBookFor("alice@example.test")).createGroup({ name: "After restart" });
    const after = await storedEtag("resource-lists");
    const n = diffOf(await c.waitForNotify((x) => x.bodyText.includes(`new-etag="${after}"`), { sub, from: next, timeoutMs: 10_000 }));
    expect(n.documents).toEqual([{ sel: RL, auid: "resource-lists", newEtag: after, previousEtag: whileDown }]);
  });
});
