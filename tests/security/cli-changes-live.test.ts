/**
 * Domains and accounts added with the CLI — another process — while Herald runs take effect in
 * the running SIP server and XCAP root within the documented bound (ISSUE-12 item 7): the served
 * domains and XCAP's realms and credentials are cached for 5 s at most (README "XCAP caches"),
 * so a new domain and a new account work within 5 s, without a restart. Real SQLite, real sockets.
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { digestHa1 } from "@/lib/accounts/password";
import { loadConfig } from "@/lib/config";
import { startEmbeddedSipServer, type RunningSipServer } from "@/lib/server/main";
import { PrismaXcapStore } from "@/lib/storage/xcap-prisma-store";
import { XcapClient, XcapClientError } from "@/lib/xcap/client";
import { SipTestClient } from "../helpers/sip-client";
import { tempSqliteDb, type TempDb } from "../helpers/temp-db";
import { testXcapHttp } from "../helpers/test-xcap-http";
import { serveFetch } from "../helpers/xcap-http-server";
import { waitFor } from "../helpers/wait";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
/** The documented bound (5 s caches) plus the time one check takes on a loaded machine. */
const BOUND_MS = 5000 + 2000;
const run = promisify(execFile);

let t: TempDb;
let dataDir: string;
let sip: RunningSipServer;
let xcap: Awaited<ReturnType<typeof serveFetch>>;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "herald-cli-live-"));
  t = await tempSqliteDb();
  const cfg = loadConfig({ HERALD_DATA_DIR: dataDir, DATABASE_URL: t.url, SIP_HOST: "127.0.0.1", SIP_PORT: "0" });
  await addDomain(t.db, "example.test");
  await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1" });
  sip = await startEmbeddedSipServer(cfg, t.db, { store: new PrismaXcapStore(t.db) }, { rls: false });
  const x = testXcapHttp(t.db);
  xcap = await serveFetch((r) => x.handle(r));
});

afterAll(async () => {
  await sip?.stop();
  await xcap?.close();
  await t?.close();
});

async function cli(...args: string[]): Promise<void> {
  await run(process.execPath, ["--import", "tsx", path.join(ROOT, "lib/cli/main.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: t.url, HERALD_DATA_DIR: dataDir },
    timeout: 60_000,
  });
}

async function sipRegister(user: string, domain: string, password: string): Promise<number> {
  const c = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user, domain, password });
  try {
    return (await c.register(600)).status;
  } finally {
    await c.close();
  }
}

async function xcapStatus(user: string, domain: string, password: string): Promise<number> {
  const c = new XcapClient({ root: `${xcap.url}/xcap-root`, xui: `sip:${user}@${domain}`, auth: { username: user, ha1: digestHa1(user, domain, password) } });
  try {
    await c.getDocument("resource-lists", "index");
    return 200;
  } catch (e) {
    if (e instanceof XcapClientError) return e.status;
    throw e;
  }
}

describe("CLI changes reach the running server", () => {
  it("a domain and an account added by the CLI work over SIP and XCAP within the bound", async () => {
    // both doors know neither yet (and have cached that answer)
    expect(await sipRegister("zoe", "new.test", "Zoe-pass-1")).toBe(404);
    expect(await xcapStatus("zoe", "new.test", "Zoe-pass-1")).not.toBe(200);
    await cli("domains", "add", "new.test");
    await cli("accounts", "add", "zoe@new.test", "--password", "Zoe-pass-1");
    await waitFor(async () => (await sipRegister("zoe", "new.test", "Zoe-pass-1")) === 200, { timeoutMs: BOUND_MS, what: "SIP REGISTER of the new account" });
    await waitFor(async () => (await xcapStatus("zoe", "new.test", "Zoe-pass-1")) === 200, { timeoutMs: BOUND_MS, what: "XCAP GET of the new account" });
  });

  it("an account added by the CLI to a served domain works at once over SIP and within the bound over XCAP", async () => {
    expect(await xcapStatus("yves", "example.test", "Yves-pass-1")).toBe(401);
    await cli("accounts", "add", "yves@example.test", "--password", "Yves-pass-1");
    expect(await sipRegister("yves", "example.test", "Yves-pass-1")).toBe(200);
    await waitFor(async () => (await xcapStatus("yves", "example.test", "Yves-pass-1")) === 200, { timeoutMs: BOUND_MS, what: "XCAP GET of the new account" });
  });
});
