/**
 * Watchers see each state once (issue 12, item 3): a PUT of the offline status (pidf-manipulation)
 * while no device publishes, and a change of the presentity's rules, each give the watcher exactly
 * one NOTIFY with the final state — on SQLite and on PostgreSQL, with the portal's XCAP root, its
 * Prisma store and the production NOTIFY rate limit.
 */
import { describe, expect, it } from "vitest";
import { composePidf, parsePidf, summarizePresence } from "@/lib/presence";
import type { SipRequest } from "@/lib/sip";
import { AddressBook } from "@/lib/xcap/addressbook";
import type { XcapDocumentKey, XcapStore } from "@/lib/xcap/server";
import { pidf, type SipTestClient } from "../../helpers/sip-client";
import { waitFor } from "../../helpers/wait";
import { DOMAIN, XCAP_ROOT, databaseBackends, startDeployed, useDeployedDb } from "./deployed";
import { allowRules } from "./harness";
import { AUID } from "../../../lib/presence/namespaces";

const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;

/**
 * The presence server's view of the database, with one read of a chosen document held back: the
 * read runs at once (it sees the database as it is then) and its answer is delivered on
 * `release()` — a read overtaken by later writes and reads, as on a pooled PostgreSQL.
 */
class HeldReads implements XcapStore {
  reads = 0;
  private hold?: { auid: string; xui: string; gate: Promise<void>; open: () => void; answered?: boolean };
  constructor(private readonly inner: XcapStore) {}
  /** Hold the answer to the next read of (auid, xui); `read()` resolves once the database answered it. */
  holdNext(auid: string, xui: string) {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    this.hold = { auid, xui, gate, open };
    const h = this.hold;
    return { release: open, read: () => waitFor(() => h.answered, { what: "the held read to be answered" }) };
  }
  async get(key: XcapDocumentKey, options?: Parameters<XcapStore["get"]>[1]) {
    const h = this.hold;
    const mine = h && key.auid === h.auid && key.xui === h.xui;
    if (mine) this.hold = undefined;
    const read = this.inner.get(key, options);
    if (h && mine) {
      await read.finally(() => (h.answered = true));
      await h.gate;
    }
    if (h === undefined || !mine) this.reads += key.auid === AUID.pidfManipulation || key.auid === AUID.presRules ? 1 : 0;
    return read;
  }
  put: XcapStore["put"] = (...a) => this.inner.put(...a);
  delete: XcapStore["delete"] = (...a) => this.inner.delete(...a);
  listUserDocuments: XcapStore["listUserDocuments"] = (...a) => this.inner.listUserDocuments(...a);
  findServiceUriOwners: XcapStore["findServiceUriOwners"] = (...a) => this.inner.findServiceUriOwners(...a);
  usage: XcapStore["usage"] = (...a) => this.inner.usage(...a);
}

describe.each(databaseBackends("herald_notify_once"))("each state once, on %s", (_name, open) => {
  const d = useDeployedDb(open, ["alice", "bob"]);

  /** The portal's XCAP root and the embedded presence server on one database, as `npm start` wires them. */
  async function system(notifyIntervalMs?: number) {
    let held!: HeldReads;
    const { xcapOf, ua } = await startDeployed(d, { notifyIntervalMs }, (s) => (held = new HeldReads(s)));
    const xcap = xcapOf("alice");
    const book = new AddressBook({ client: xcap, xcapRoot: XCAP_ROOT });
    return { xcap, book, held, ua };
  }

  /**
   * The NOTIFYs bob got for `change`: everything up to the one a later PUBLISH by alice causes
   * (a sentinel, so "no second NOTIFY" is checked without sleeping).
   */
  let sentinels = 0;
  async function notifiesFor(bob: SipTestClient, sub: Parameters<SipTestClient["notifies"]>[0], alice: SipTestClient, change: () => Promise<unknown>, done?: (n: SipRequest) => boolean) {
    const from = bob.notifies(sub).length;
    await change();
    if (done) await bob.waitForNotify(done, { sub, from });
    const sentinel = bob.notifies(sub).length;
    const mark = `sentinel ${++sentinels}`;
    await alice.publish(pidf(ALICE, "open", mark));
    await bob.waitForNotify((n) => n.bodyText.includes(mark), { sub, from: sentinel });
    return bob.notifies(sub).slice(from).filter((n) => !n.bodyText.includes(mark));
  }

  it("a PUT of the offline status while no device publishes: one NOTIFY, with the offline status", async () => {
    const { xcap, book, ua } = await system();
    await book.addContact({ uris: [BOB], name: "Bob" }); // a buddy: allowed
    const bob = await ua("bob");
    const { sub } = await bob.subscribe(ALICE);
    const first = await bob.waitForNotify(() => true, { sub });
    expect(summarizePresence(parsePidf(first.bodyText)).availability).toBe("offline");
    const alice = await ua("alice");
    const offline = composePidf({ entity: ALICE, basic: "closed", extended: "offline", note: "Back on Monday", tupleId: "offline_status_tuple", personId: "offline_status" });
    const got = await notifiesFor(bob, sub, alice, () => xcap.putDocument("pidf-manipulation", "index", offline, { contentType: "application/pidf+xml" }), (n) => n.bodyText.includes("Back on Monday"));
    expect(got.map((n) => summarizePresence(parsePidf(n.bodyText)).note ?? "(none)")).toEqual(["Back on Monday"]);
  });

  it("one change of the presentity's rules: one NOTIFY, with the final state", async () => {
    const { book, ua } = await system();
    await book.addContact({ uris: [BOB], name: "Bob", presence: { policy: "default" } });
    const alice = await ua("alice");
    await alice.publish(pidf(ALICE, "open", "at my desk"));
    const bob = await ua("bob");
    const { sub } = await bob.subscribe(ALICE);
    const first = await bob.waitForNotify(() => true, { sub });
    expect(first.getHeader("Subscription-State")).toMatch(/^pending/);
    const got = await notifiesFor(bob, sub, alice, () => book.allowUri(BOB), (n) => n.bodyText.includes("at my desk"));
    expect(got.map((n) => n.getHeader("Subscription-State")?.split(";")[0])).toEqual(["active"]);
  });

  it("offline status written twice while the first is still being read: the watcher gets the final one only", async () => {
    const { xcap, book, held, ua } = await system();
    await book.addContact({ uris: [BOB], name: "Bob" });
    const bob = await ua("bob");
    const { sub } = await bob.subscribe(ALICE);
    await bob.waitForNotify(() => true, { sub });
    const alice = await ua("alice");
    const status = (note: string) => composePidf({ entity: ALICE, basic: "closed", extended: "offline", note, tupleId: "offline_status_tuple", personId: "offline_status" });
    const got = await notifiesFor(bob, sub, alice, async () => {
      const first = held.holdNext(AUID.pidfManipulation, ALICE);
      await xcap.putDocument("pidf-manipulation", "index", status("Back on Monday"), { contentType: "application/pidf+xml" });
      await first.read();
      const before = held.reads;
      await xcap.putDocument("pidf-manipulation", "index", status("Back on Tuesday"), { contentType: "application/pidf+xml" });
      await waitFor(() => held.reads > before, { what: "the second document to be read" });
      first.release();
    }, (n) => n.bodyText.includes("Back on Tuesday"));
    expect(got.map((n) => summarizePresence(parsePidf(n.bodyText)).note ?? "(none)")).toEqual(["Back on Tuesday"]);
  });

  it("rules changed twice while the first change is still being evaluated: the older decision is never applied", async () => {
    const { xcap, held, ua } = await system();
    const rules = (handling: string) => xcap.putDocument(AUID.presRules, "index", allowRules(ALICE, [BOB], handling), { contentType: "application/auth-policy+xml" });
    await rules("allow");
    const alice = await ua("alice");
    await alice.publish(pidf(ALICE, "open", "at my desk"));
    const bob = await ua("bob");
    const { sub } = await bob.subscribe(ALICE);
    await bob.waitForNotify((n) => n.bodyText.includes("at my desk"), { sub });
    // block, and undo at once: the block's evaluation is overtaken by the undo's
    const got = await notifiesFor(bob, sub, alice, async () => {
      const first = held.holdNext(AUID.presRules, ALICE);
      await rules("polite-block");
      await first.read();
      const before = held.reads;
      await rules("allow");
      await waitFor(() => held.reads > before, { what: "the undo to be read" });
      first.release();
    }).catch((e: unknown) => {
      throw new Error(`bob no longer sees alice: ${String(e)}`);
    });
    expect(got.map((n) => n.bodyText)).toEqual([]);
  });

  it("a write that changes nothing a watcher sees (the same offline status again): no NOTIFY", async () => {
    // no rate limit: a redundant NOTIFY is not hidden by coalescing with the sentinel's
    const { xcap, book, ua } = await system(0);
    await book.addContact({ uris: [BOB], name: "Bob" });
    const bob = await ua("bob");
    const { sub } = await bob.subscribe(ALICE);
    await bob.waitForNotify(() => true, { sub });
    const alice = await ua("alice");
    const status = composePidf({ entity: ALICE, basic: "closed", extended: "offline", note: "Back on Monday", tupleId: "offline_status_tuple", personId: "offline_status", timestamp: "2026-01-01T00:00:00Z" });
    const put = () => xcap.putDocument("pidf-manipulation", "index", status, { contentType: "application/pidf+xml" });
    await notifiesFor(bob, sub, alice, put, (n) => n.bodyText.includes("Back on Monday"));
    const again = await notifiesFor(bob, sub, alice, put);
    expect(again).toEqual([]);
  });
});
