/** startEmbeddedSipServer: configuration, Domain/Account tables (Prisma), PresenceState persistence. */
import { afterEach, describe, expect, it } from "vitest";
import { addAccount, addDomain, setDisabled } from "@/lib/accounts/service";
import { issueEphemeralCredentials } from "@/lib/sip";
import { SipTestClient } from "../../helpers/sip-client";
import { embeddedSipFromEnv } from "../../helpers/embedded-sip";

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe("startEmbeddedSipServer", () => {
  it("serves the Domain table's accounts with HA1 and ephemeral credentials", async () => {
    const { sip, cfg, db, close } = await embeddedSipFromEnv(
      { SIP_EPHEMERAL_SECRET: "a-shared-secret-of-16+" },
      {
        seed: async (db) => {
          await addDomain(db, "example.test");
          await addAccount(db, { address: "alice@example.test", password: "Correct-Horse-9" });
          await addAccount(db, { address: "bob@example.test", password: "Correct-Horse-9" });
        },
      },
    );
    cleanup.push(close);
    expect(sip.ports.tcp).toBeGreaterThan(0);
    const alice = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user: "alice", domain: "example.test", password: "Correct-Horse-9" });
    cleanup.push(() => alice.close());
    expect((await alice.register(600)).status).toBe(200);
    const eph = issueEphemeralCredentials({ secret: cfg.ephemeralSecret, user: "bob", ttlSeconds: 300 });
    const bob = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user: "bob", domain: "example.test", authUser: eph.username, password: eph.password });
    cleanup.push(() => bob.close());
    expect((await bob.register(600)).status).toBe(200);
    await setDisabled(db, "bob@example.test", true);
    expect((await bob.register(600)).status).toBe(403);
    await sip.server.flush();
    expect(await db.presenceState.count({ where: { kind: "registration" } })).toBe(2);
  });

  it("builds RLS lists RLS_MAX_CONCURRENT_BUILDS at a time", async () => {
    const { sip, close } = await embeddedSipFromEnv({ RLS_MAX_CONCURRENT_BUILDS: "3" });
    cleanup.push(close);
    expect(sip.rls?.builds.max).toBe(3);
  });
});
