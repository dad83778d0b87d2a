/** startEmbeddedSipServer: configuration, Domain/Account tables (Prisma), PresenceState persistence. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { addAccount, addDomain, setDisabled } from "@/lib/accounts/service";
import { loadConfig } from "@/lib/config";
import { startEmbeddedSipServer } from "@/lib/server";
import { issueEphemeralCredentials } from "@/lib/sip";
import { MemoryXcapStore } from "@/lib/xcap/server";
import { SipTestClient } from "../../helpers/sip-client";
import { tempSqliteDb } from "../../helpers/temp-db";

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe("startEmbeddedSipServer", () => {
  it("serves the Domain table's accounts with HA1 and ephemeral credentials", async () => {
    const tdb = await tempSqliteDb();
    cleanup.push(() => tdb.close());
    const dataDir = mkdtempSync(path.join(tmpdir(), "herald-cfg-"));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    await addDomain(tdb.db, "example.test");
    await addAccount(tdb.db, { address: "alice@example.test", password: "Correct-Horse-9" });
    await addAccount(tdb.db, { address: "bob@example.test", password: "Correct-Horse-9" });
    const cfg = loadConfig({ SIP_HOST: "127.0.0.1", SIP_PORT: "0", HERALD_DATA_DIR: dataDir, SIP_EPHEMERAL_SECRET: "a-shared-secret-of-16+" }, dataDir);
    const sip = await startEmbeddedSipServer(cfg, tdb.db, { store: new MemoryXcapStore() }, { logger: () => {} });
    cleanup.push(() => sip.stop());
    expect(sip.ports.tcp).toBeGreaterThan(0);
    const alice = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user: "alice", domain: "example.test", password: "Correct-Horse-9" });
    cleanup.push(() => alice.close());
    expect((await alice.register(600)).status).toBe(200);
    const eph = issueEphemeralCredentials({ secret: cfg.ephemeralSecret, user: "bob", ttlSeconds: 300 });
    const bob = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user: "bob", domain: "example.test", authUser: eph.username, password: eph.password });
    cleanup.push(() => bob.close());
    expect((await bob.register(600)).status).toBe(200);
    await setDisabled(tdb.db, "bob@example.test", true);
    expect((await bob.register(600)).status).toBe(403);
    await sip.server.flush();
    expect(await tdb.db.presenceState.count({ where: { kind: "registration" } })).toBe(2);
  });

  it("builds RLS lists RLS_MAX_CONCURRENT_BUILDS at a time", async () => {
    const tdb = await tempSqliteDb();
    cleanup.push(() => tdb.close());
    const dataDir = mkdtempSync(path.join(tmpdir(), "herald-cfg-"));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const cfg = loadConfig({ SIP_HOST: "127.0.0.1", SIP_PORT: "0", HERALD_DATA_DIR: dataDir, RLS_MAX_CONCURRENT_BUILDS: "3" }, dataDir);
    const sip = await startEmbeddedSipServer(cfg, tdb.db, { store: new MemoryXcapStore() }, { logger: () => {} });
    cleanup.push(() => sip.stop());
    expect(sip.rls?.builds.max).toBe(3);
  });
});
