/** The page's short-lived SIP credentials (autheph scheme): what the pages and the route issue. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig, type HeraldConfig } from "@/lib/config";
import { addDomain } from "@/lib/accounts/service";
import { issuePageSipCredentials } from "@/lib/portal/sip-credentials";
import { ephemeralPassword, parseEphemeralUsername } from "@/lib/sip";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";

describe("page SIP credentials", () => {
  let t: TempDb;
  let cfg: HeraldConfig;
  beforeAll(async () => {
    cfg = loadConfig({ HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-sc-")), SIP_EPHEMERAL_TTL: "600" });
    (globalThis as { __heraldConfig?: unknown }).__heraldConfig = cfg;
    t = await tempSqliteDb();
    await addDomain(t.db, "example.test", { realm: "realm.example.test" });
    await addDomain(t.db, "off.test");
    await t.db.domain.update({ where: { name: "off.test" }, data: { enabled: false } });
  });
  afterAll(async () => t?.close());

  it("issues autheph credentials for the user, valid for the configured lifetime, with the domain's realm", async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await issuePageSipCredentials({ address: "alice@example.test", name: "Alice" });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const c = r.credentials;
    expect(c).toMatchObject({ wsPath: "/sip", aor: "sip:alice@example.test", displayName: "Alice", realm: "realm.example.test" });
    const parsed = parseEphemeralUsername(c.authorizationUser);
    expect(parsed?.user).toBe("alice");
    expect(c.expires).toBe(parsed?.expires);
    expect(c.expires - before).toBeGreaterThanOrEqual(599);
    expect(c.expires - before).toBeLessThanOrEqual(601);
    expect(c.password).toBe(ephemeralPassword(cfg.ephemeralSecret, c.authorizationUser));
    // the shared secret itself is never part of what the page gets
    expect(JSON.stringify(c)).not.toContain(cfg.ephemeralSecret);
  });

  it("issues nothing for a disabled domain", async () => {
    expect(await issuePageSipCredentials({ address: "bob@off.test", name: null })).toEqual({ ok: false, status: 403, error: "domain disabled" });
  });
});
