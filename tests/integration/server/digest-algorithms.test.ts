/** Digest algorithms offered by the embedded server (issue 12 item 5): MD5 alone by default, configurable. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { loadConfig } from "@/lib/config";
import { startEmbeddedSipServer } from "@/lib/server";
import { buildDigestAuthorization } from "@/lib/sip";
import { MemoryXcapStore } from "@/lib/xcap/server";
import { SipTestClient } from "../../helpers/sip-client";
import { tempSqliteDb } from "../../helpers/temp-db";
import { DOMAIN, client, startServer } from "./harness";

const ALICE = `sip:alice@${DOMAIN}`;
let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function challenges(c: SipTestClient): Promise<string[]> {
  const r = await c.sendRequest(c.build("REGISTER", `sip:${DOMAIN}`, { to: `<${ALICE}>`, headers: [["Expires", "600"]] }));
  expect(r.status).toBe(401);
  return r.getHeaders("WWW-Authenticate");
}

describe("digest algorithms", () => {
  it("challenges with MD5 alone by default (one challenge: clients that know one algorithm are not confused)", async () => {
    const s = await startServer();
    cleanup.push(() => s.server.stop());
    const alice = await client(s.port, "alice");
    cleanup.push(() => alice.close());
    const ch = await challenges(alice);
    expect(ch).toHaveLength(1);
    expect(ch[0]).toMatch(/algorithm=MD5/);
    expect((await alice.register(600)).status).toBe(200);
  });

  it("SIP_DIGEST_ALGORITHMS=SHA-256,MD5 offers both in that order, and a SHA-256 answer registers", async () => {
    const tdb = await tempSqliteDb();
    cleanup.push(() => tdb.close());
    const dataDir = mkdtempSync(path.join(tmpdir(), "herald-digest-"));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    await addDomain(tdb.db, DOMAIN);
    await addAccount(tdb.db, { address: `alice@${DOMAIN}`, password: "Correct-Horse-9" });
    const cfg = loadConfig({ SIP_HOST: "127.0.0.1", SIP_PORT: "0", HERALD_DATA_DIR: dataDir, SIP_DIGEST_ALGORITHMS: "SHA-256,MD5" }, dataDir);
    const sip = await startEmbeddedSipServer(cfg, tdb.db, { store: new MemoryXcapStore() }, { logger: () => {}, rls: false });
    cleanup.push(() => sip.stop());
    const alice = await SipTestClient.connect({ host: "127.0.0.1", port: sip.ports.tcp!, user: "alice", domain: DOMAIN, password: "Correct-Horse-9" });
    cleanup.push(() => alice.close());
    const ch = await challenges(alice);
    expect(ch.map((c) => /algorithm=([\w-]+)/.exec(c)?.[1])).toEqual(["SHA-256", "MD5"]);
    const req = alice.build("REGISTER", `sip:${DOMAIN}`, { to: `<${ALICE}>`, headers: [["Expires", "600"]] });
    req.setHeader("Authorization", buildDigestAuthorization({ challenge: ch[0]!, method: "REGISTER", uri: `sip:${DOMAIN}`, username: "alice", password: "Correct-Horse-9" }));
    expect((await alice.sendRequest(req)).status).toBe(200);
  });
});
