/** MESSAGE under startEmbeddedSipServer: offline queue and history in the InstantMessage table (SQLite), across a restart. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { loadConfig } from "@/lib/config";
import { startEmbeddedSipServer } from "@/lib/server";
import { MemoryXcapStore } from "@/lib/xcap/server";
import { SipTestClient } from "../../helpers/sip-client";
import { tempSqliteDb } from "../../helpers/temp-db";
import { waitFor } from "../../helpers/wait";

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe("instant messages in the database", () => {
  it("a message stored while the recipient is offline survives a restart and is delivered on registration with its Date; IM_* bounds apply", async () => {
    const tdb = await tempSqliteDb();
    cleanup.push(() => tdb.close());
    const dataDir = mkdtempSync(path.join(tmpdir(), "herald-im-"));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    await addDomain(tdb.db, "example.test");
    for (const u of ["alice", "bob"]) await addAccount(tdb.db, { address: `${u}@example.test`, password: "Correct-Horse-9" });
    const cfg = loadConfig({ SIP_HOST: "127.0.0.1", SIP_PORT: "0", HERALD_DATA_DIR: dataDir, IM_MAX_MESSAGE_BYTES: "64", IM_OFFLINE_MAX_PER_USER: "1" }, dataDir);
    const xcap = { store: new MemoryXcapStore() };
    const connect = (port: number, user: string) => SipTestClient.connect({ host: "127.0.0.1", port, user, domain: "example.test", password: "Correct-Horse-9" });

    const first = await startEmbeddedSipServer(cfg, tdb.db, xcap, { logger: () => {} });
    const alice = await connect(first.ports.tcp!, "alice");
    const date = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000).toUTCString(); // an hour ago: within IM_OFFLINE_RETENTION_DAYS
    expect((await alice.message("sip:bob@example.test", "while you were out", { headers: [["Date", date]] })).status).toBe(202);
    expect((await alice.message("sip:bob@example.test", "x".repeat(65))).status).toBe(413);
    expect((await alice.message("sip:bob@example.test", "one too many")).status).toBe(480);
    await alice.close();
    await first.stop();
    expect(await tdb.db.instantMessage.count({ where: { pending: true } })).toBe(1);

    const second = await startEmbeddedSipServer(cfg, tdb.db, xcap, { logger: () => {} });
    cleanup.push(() => second.stop());
    const bob = await connect(second.ports.tcp!, "bob");
    cleanup.push(() => bob.close());
    expect((await bob.register(600)).status).toBe(200);
    const m = await waitFor(() => bob.messages()[0], { what: "stored message" });
    expect(m.body.toString()).toBe("while you were out");
    expect(m.getHeader("Date")).toBe(date);
    expect(m.from.uri.toString()).toBe("sip:alice@example.test");
    await waitFor(async () => (await tdb.db.instantMessage.count({ where: { pending: true } })) === 0, { what: "delivered in the table" });
    expect(await tdb.db.instantMessage.findMany({ select: { sender: true, recipient: true, body: true, history: true } })).toEqual([
      { sender: "sip:alice@example.test", recipient: "sip:bob@example.test", body: "while you were out", history: true },
    ]);
  });
});
