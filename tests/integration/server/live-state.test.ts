/**
 * The console's live view of one account (ISSUE-16 item 2, read side): PresenceServer.liveState
 * as the portal reads it (lib/portal/live-state) — registrations (over plain SIP here; the
 * bridge's in-process flow in tests/e2e/admin-console.test.ts), publications with what they say, subscriptions held and received.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { loadConfig } from "@/lib/config";
import { liveAccountState, setLiveStateSource } from "@/lib/portal/live-state";
import { startEmbeddedSipServer, type RunningSipServer } from "@/lib/server/main";
import { PrismaXcapStore } from "@/lib/storage/xcap-prisma-store";
import { SipTestClient } from "../../helpers/sip-client";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";

let t: TempDb;
let sip: RunningSipServer;

beforeAll(async () => {
  t = await tempSqliteDb();
  const cfg = loadConfig({ HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-live-")), DATABASE_URL: t.url, SIP_HOST: "127.0.0.1", SIP_PORT: "0" });
  await addDomain(t.db, "example.test");
  await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1" });
  await addAccount(t.db, { address: "bob@example.test", password: "Bob-pass1" });
  sip = await startEmbeddedSipServer(cfg, t.db, { store: new PrismaXcapStore(t.db) }, { rls: false });
});
afterAll(async () => {
  setLiveStateSource(undefined);
  await sip?.stop();
  await t?.close();
});

const PIDF = `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example.test"><tuple id="t1"><status><basic>open</basic></status></tuple><dm:person id="p1"><rpid:activities><rpid:busy/></rpid:activities><dm:note>In a meeting</dm:note></dm:person></presence>`;

describe("live state of an account", { timeout: 60_000 }, () => {
  it("is null without an embedded server in the process", () => {
    setLiveStateSource(undefined);
    expect(liveAccountState("alice@example.test")).toBeNull();
  });

  it("shows registrations, publications (what they say) and subscriptions held and received", async () => {
    setLiveStateSource(sip.server);
    const alice = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user: "alice", domain: "example.test", password: "Alice-pass1" });
    const bob = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user: "bob", domain: "example.test", password: "Bob-pass1" });
    try {
      expect((await alice.register(600)).status).toBe(200);
      const pub = await alice.publish(PIDF, { expires: 300 });
      expect(pub.status).toBe(200);
      const { sub } = await bob.subscribe("sip:alice@example.test");
      expect(sub).toBeDefined();

      const a = liveAccountState("alice@example.test")!;
      expect(a.registrations).toHaveLength(1);
      expect(a.registrations[0]).toMatchObject({ transport: "TCP", inProcessFlow: false, source: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
      expect(a.registrations[0].expiresAt).toBeGreaterThan(Date.now() + 500_000);
      expect(a.publications).toEqual([expect.objectContaining({ etag: pub.getHeader("SIP-ETag"), availability: "busy", note: "In a meeting", inProcessFlow: false })]);
      expect(a.subscriptionsReceived).toEqual([expect.objectContaining({ watcher: "sip:bob@example.test", event: "presence", state: "pending" })]);
      expect(a.subscriptionsHeld).toEqual([]);
      const b = liveAccountState("bob@example.test")!;
      expect(b.subscriptionsHeld).toEqual([expect.objectContaining({ resource: "sip:alice@example.test", event: "presence" })]);
      expect(b.registrations).toEqual([]);
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});
