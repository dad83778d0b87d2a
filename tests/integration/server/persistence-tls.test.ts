/** Restart-proof subscriptions over SQLite (Prisma) and the TLS transport. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parsePidf, parseWatcherInfo } from "@/lib/presence";
import { PrismaPresenceStateStore } from "@/lib/server";
import { pidf, type SipTestClient } from "../../helpers/sip-client";
import { tempSqliteDb } from "../../helpers/temp-db";
import { waitFor } from "../../helpers/wait";
import { DOMAIN, XcapFixture, allowRules, client, startServer } from "./harness";

const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});
async function ua(port: number, user: string, extra = {}): Promise<SipTestClient> {
  const c = await client(port, user, extra);
  cleanup.push(() => c.close());
  return c;
}

describe("persistence", () => {
  it("keeps a subscription across a restart: the next PUBLISH reaches the watcher in-dialog", async () => {
    const tdb = await tempSqliteDb();
    cleanup.push(() => tdb.close());
    const xcap = new XcapFixture();
    await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB]));

    const first = await startServer({ state: new PrismaPresenceStateStore(tdb.db) }, xcap);
    const bob = await ua(first.port, "bob");
    await bob.listen(); // bob's contact is reachable when the server has lost his connection
    const { sub } = await bob.subscribe(ALICE, { expires: 3600 });
    const initial = await bob.waitForNotify(() => true, { sub });
    const alice1 = await ua(first.port, "alice");
    await alice1.publish(pidf(ALICE, "open", "before restart"));
    const before = await bob.waitForNotify((n) => n.bodyText.includes("before restart"), { sub });
    await first.server.stop();
    await waitFor(() => bob.closed, { what: "bob's connection to close" });
    const rows = await tdb.db.presenceState.findMany();
    expect(rows.map((r) => r.kind).sort()).toEqual(["publication", "subscription", "watcher"]);

    const second = await startServer({ state: new PrismaPresenceStateStore(tdb.db) }, xcap);
    cleanup.push(() => second.server.stop());
    expect(second.server.notifier.size).toBe(1);
    const alice2 = await ua(second.port, "alice");
    // the publication survived too: refresh it by its ETag, then modify
    const pub = await alice2.publish(pidf(ALICE, "open", "after restart"));
    expect(pub.status).toBe(200);
    const after = await bob.waitForNotify((n) => n.bodyText.includes("after restart"), { sub });
    expect(after.callId).toBe(initial.callId);
    expect(after.from.tag).toBe(initial.from.tag);
    expect(after.to.tag).toBe(sub!.dialog.id.localTag);
    expect(after.cseq.seq).toBeGreaterThan(before.cseq.seq);
    expect(after.getHeader("Subscription-State")).toMatch(/^active;expires=/);
    // both publications (restored and new) are composed
    expect(parsePidf(after.bodyText).tuples).toHaveLength(1); // same tuple id: the newer publication wins
    expect(after.bodyText).not.toContain("before restart");
    expect(second.server.presence.publicationsOf(ALICE)).toHaveLength(2);
  });

  it("persists watcher records for offline watcher info across a restart", async () => {
    const tdb = await tempSqliteDb();
    cleanup.push(() => tdb.close());
    const xcap = new XcapFixture();
    const first = await startServer({ state: new PrismaPresenceStateStore(tdb.db) }, xcap);
    const bob = await ua(first.port, "bob");
    const b = await bob.subscribe(ALICE);
    await bob.waitForNotify(() => true, { sub: b.sub });
    await first.server.stop();
    const second = await startServer({ state: new PrismaPresenceStateStore(tdb.db) }, xcap);
    cleanup.push(() => second.server.stop());
    const alice = await ua(second.port, "alice");
    const w = await alice.subscribe(ALICE, { event: "presence.winfo" });
    const info = parseWatcherInfo((await alice.waitForNotify(() => true, { sub: w.sub })).bodyText);
    expect(info.watcherLists[0].watchers.map((x) => [x.uri, x.status])).toEqual([[BOB, "pending"]]);
  });
});

describe("TLS", () => {
  it("registers, subscribes and receives NOTIFYs over TLS", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "herald-tls-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1"], { stdio: "ignore" });
    const xcap = new XcapFixture();
    await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB]));
    const s = await startServer({ listen: { host: "127.0.0.1", tcpPort: 0, tlsPort: 0, cert: readFileSync(path.join(dir, "cert.pem")), key: readFileSync(path.join(dir, "key.pem")) } }, xcap);
    cleanup.push(() => s.server.stop());
    expect(s.tlsPort).toBeGreaterThan(0);
    const bob = await ua(s.tlsPort!, "bob", { tls: true });
    expect((await bob.register(600)).status).toBe(200);
    const { sub } = await bob.subscribe(ALICE);
    await bob.waitForNotify(() => true, { sub });
    const alice = await ua(s.tlsPort!, "alice", { tls: true });
    await alice.publish(pidf(ALICE, "open", "secure"));
    const n = await bob.waitForNotify((x) => x.bodyText.includes("secure"), { sub });
    expect(n.topVia?.transport).toBe("TLS");
    expect(n.getHeader("Contact")).toContain(`:${s.tlsPort};transport=tls`);
  });
});
