/** Unread counts that survive a reload: read markers per conversation and history (PrismaMessageStore on SQLite). */
import { describe, expect, it } from "vitest";
import { PrismaMessageStore, type NewMessage } from "@/lib/server/message";
import { tempSqliteDb } from "../../helpers/temp-db";

const ALICE = "sip:alice@example.test";
const BOB = "sip:bob@example.test";
const CAROL = "sip:carol@example.test";
const T0 = Date.parse("2026-06-01T10:00:00Z");

function row(sender: string, recipient: string, at: number, extra: { history?: boolean; pending?: boolean } = {}): NewMessage {
  return { sender, recipient, contentType: "text/plain", body: "x", date: at, pending: extra.pending ?? false, history: extra.history ?? true };
}

describe("read markers", () => {
  it("unread = history to the user after the conversation's read marker and after the user's own last message in it", async () => {
    const tdb = await tempSqliteDb();
    try {
      const store = new PrismaMessageStore(tdb.db);
      await store.addMany([
        row(BOB, ALICE, T0),
        row(BOB, ALICE, T0 + 1000),
        row(CAROL, ALICE, T0 + 2000),
        row(CAROL, ALICE, T0 + 2700),
        row(CAROL, ALICE, T0 + 3000, { pending: true }), // still queued: counted by the page when it arrives
        row(CAROL, ALICE, T0 + 3500, { history: false, pending: true }), // a queued notice is no message
        row(ALICE, BOB, T0 + 500),
      ]);
      // no marker: bob's second message came after alice's answer; carol has two
      expect(await store.unreadCounts(ALICE)).toEqual({ [BOB]: 1, [CAROL]: 2 });
      expect(await store.unreadCounts(BOB)).toEqual({});
      await store.markRead(ALICE, CAROL, T0 + 2500);
      expect(await store.unreadCounts(ALICE)).toEqual({ [BOB]: 1, [CAROL]: 1 });
      await store.markRead(ALICE, BOB, T0 + 5000);
      await store.markRead(ALICE, BOB, T0 + 1); // an older marker (another tab) does not move it back
      expect(await store.unreadCounts(ALICE)).toEqual({ [CAROL]: 1 });
      await store.addMany([row(BOB, ALICE, T0 + 6000)]);
      expect(await store.unreadCounts(ALICE)).toEqual({ [BOB]: 1, [CAROL]: 1 });
      // a reply reads the conversation
      await store.addMany([row(ALICE, CAROL, T0 + 7000)]);
      expect(await store.unreadCounts(ALICE)).toEqual({ [BOB]: 1 });
    } finally {
      await tdb.close();
    }
  });
});
