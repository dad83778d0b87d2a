/** The bridge's upgrade check: the next-auth session cookie, re-checked against the accounts. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { IncomingMessage } from "node:http";
import { encode } from "next-auth/jwt";
import { loadConfig, type HeraldConfig } from "@/lib/config";
import { addAccount, addDomain, setDisabled } from "@/lib/accounts/service";
import { parseCookies, sessionAorOfUpgrade } from "@/lib/portal/bridge-auth";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";

describe("WebSocket upgrade authentication", () => {
  let t: TempDb;
  let cfg: HeraldConfig;
  beforeAll(async () => {
    cfg = loadConfig({ HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-ba-")) });
    (globalThis as { __heraldConfig?: unknown }).__heraldConfig = cfg;
    t = await tempSqliteDb();
    await addDomain(t.db, "example.test");
    await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1" });
  });
  afterAll(async () => t?.close());

  const upgrade = (cookie?: string) => ({ headers: cookie ? { cookie } : {} }) as unknown as IncomingMessage;
  const sessionCookie = async (address: string, secret = cfg.authSecret) =>
    `other=1; next-auth.session-token=${await encode({ token: { sub: "1", address, epoch: 0 }, secret })}`;

  it("parses cookie headers", () => {
    expect(parseCookies("a=1; b=x%20y;c")).toEqual({ a: "1", b: "x y" });
  });

  it("accepts a valid session cookie and names its user", async () => {
    expect(await sessionAorOfUpgrade(upgrade(await sessionCookie("alice@example.test")))).toEqual({ aor: "alice@example.test" });
  });

  it("refuses no cookie, a forged cookie and a disabled account", async () => {
    expect(await sessionAorOfUpgrade(upgrade())).toBeNull();
    expect(await sessionAorOfUpgrade(upgrade(await sessionCookie("alice@example.test", "x".repeat(40))))).toBeNull();
    await setDisabled(t.db, "alice@example.test", true);
    expect(await sessionAorOfUpgrade(upgrade(await sessionCookie("alice@example.test")))).toBeNull();
  });
});
