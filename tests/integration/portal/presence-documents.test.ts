/**
 * What the server actions do, end to end through the embedded XCAP root in-process: the
 * Blink-style address book, the offline status and the icon land in XCAP documents (and
 * nowhere else), with change events for the presence server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "@/lib/config";
import { addAccount, addDomain } from "@/lib/accounts/service";
import {
  addressBookFor,
  clearOfflineStatus,
  getOfflineStatus,
  getPermanentStatus,
  IconError,
  iconUrl,
  removeIcon,
  renderedAddressBook,
  setIcon,
  setOfflineStatus,
  setPermanentStatus,
} from "@/lib/portal/presence-documents";
import { xcapEvents } from "@/lib/portal/xcap-events";
import type { XcapChangeEvent } from "@/lib/xcap/server";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";

const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000", "hex");

describe("portal presence documents (server action back end)", () => {
  let t: TempDb;
  const events: XcapChangeEvent[] = [];
  let unsubscribe: () => void;

  beforeAll(async () => {
    (globalThis as { __heraldConfig?: unknown }).__heraldConfig = loadConfig({
      HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-pd-")),
      PORT: "3999",
    });
    t = await tempSqliteDb();
    await addDomain(t.db, "example.test");
    await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1" });
    unsubscribe = xcapEvents().subscribe((e) => events.push(e));
  });
  afterAll(async () => {
    unsubscribe?.();
    await t?.close();
  });

  const doc = (auid: string, p = "index") =>
    t.db.xcapDocument.findUnique({ where: { auid_scope_xui_path: { auid, scope: "users", xui: "sip:alice@example.test", path: p } } });

  it("adds a contact: resource-lists, rls-services and pres-rules written Blink's way", async () => {
    const book = await addressBookFor("alice@example.test");
    const bob = await book.addContact({ name: "Bob", uris: ["bob@example.test"] });
    expect(bob.presence).toEqual({ policy: "allow", subscribe: true });
    const rl = (await doc("resource-lists"))!.content;
    expect(rl).toContain('name="sipsimple_addressbook"');
    expect(rl).toMatch(/<list name="sipsimple_presence_rls">[\s\S]*sip:bob@example.test/);
    expect(rl).toMatch(/<list name="oma_grantedcontacts">[\s\S]*sip:bob@example.test/);
    expect((await doc("rls-services"))!.content).toContain('uri="sip:alice+presence@example.test"');
    const rules = (await doc("org.openmobilealliance.pres-rules"))!.content;
    for (const id of ["wp_prs_grantedcontacts", "wp_prs_blockedcontacts", "wp_prs_block_anonymous", "wp_prs_allow_own"]) expect(rules).toContain(id);
    expect(events.map((e) => e.auid)).toEqual(expect.arrayContaining(["resource-lists", "rls-services", "org.openmobilealliance.pres-rules"]));
  });

  it("blocks a stranger and sets the default policy", async () => {
    const book = await addressBookFor("alice@example.test");
    await book.blockUri("sip:mallory@example.test");
    await book.setDefaultPolicy("polite-block");
    const model = await book.load();
    expect(model.presence.blocked).toContain("sip:mallory@example.test");
    expect(model.defaultPolicy).toBe("polite-block");
  });

  it("sets and clears the offline status note (pidf-manipulation)", async () => {
    await setOfflineStatus("alice@example.test", "On holiday until Monday");
    expect((await doc("pidf-manipulation"))!.content).toContain("On holiday until Monday");
    expect(await getOfflineStatus("alice@example.test")).toEqual({ set: true, note: "On holiday until Monday" });
    await clearOfflineStatus("alice@example.test");
    expect(await doc("pidf-manipulation")).toBeNull();
    expect(await getOfflineStatus("alice@example.test")).toEqual({ set: false, note: null });
  });

  it("keeps the operator's permanent status and the user's offline status apart in pidf-manipulation (ISSUE-16 item 5)", async () => {
    await setPermanentStatus("alice@example.test", "On leave until 3 January");
    expect(await getPermanentStatus("alice@example.test")).toBe("On leave until 3 January");
    expect(await getOfflineStatus("alice@example.test")).toEqual({ set: false, note: null });
    await setOfflineStatus("alice@example.test", "Back on Monday");
    expect(await getPermanentStatus("alice@example.test")).toBe("On leave until 3 January");
    expect(await getOfflineStatus("alice@example.test")).toEqual({ set: true, note: "Back on Monday" });
    await clearOfflineStatus("alice@example.test");
    expect(await getPermanentStatus("alice@example.test")).toBe("On leave until 3 January");
    await setOfflineStatus("alice@example.test", "Back on Monday");
    await setPermanentStatus("alice@example.test", null);
    expect(await getPermanentStatus("alice@example.test")).toBeNull();
    expect(await getOfflineStatus("alice@example.test")).toEqual({ set: true, note: "Back on Monday" });
    await clearOfflineStatus("alice@example.test");
    expect(await doc("pidf-manipulation")).toBeNull();
    expect(events.filter((e) => e.auid === "pidf-manipulation").length).toBeGreaterThanOrEqual(6);
  });

  it("stores a PNG icon checked by content, refuses text renamed to .png", async () => {
    const r = await setIcon("alice@example.test", PNG);
    expect(r.mimeType).toBe("image/png");
    expect(r.url).toBe(iconUrl("alice@example.test"));
    expect((await doc("org.openmobilealliance.pres-content", "oma_status-icon/index"))!.content).toContain("<mime-type>image/png</mime-type>");
    await expect(setIcon("alice@example.test", Buffer.from("<svg>not a png</svg>"))).rejects.toBeInstanceOf(IconError);
    await expect(setIcon("alice@example.test", new Uint8Array(300 * 1024).fill(0x89))).rejects.toMatchObject({ code: "too-large" });
    await removeIcon("alice@example.test");
    expect(await doc("org.openmobilealliance.pres-content", "oma_status-icon/index")).toBeNull();
  });

  it("names the rendered address book's documents as xcap-diff does (selector → ETag), absent ones left out", async () => {
    const snap = await (await addressBookFor("alice@example.test")).load();
    const rendered = renderedAddressBook("alice@example.test", snap.etags);
    // the stored ETags, as the xcap-diff package writes them (no quotes)
    const stored = async (auid: string) => (await doc(auid))!.etag;
    expect(rendered).toEqual({
      "resource-lists/users/sip:alice@example.test/index": await stored("resource-lists"),
      "rls-services/users/sip:alice@example.test/index": await stored("rls-services"),
      "org.openmobilealliance.pres-rules/users/sip:alice@example.test/index": await stored("org.openmobilealliance.pres-rules"),
    });
    expect(Object.values(rendered).every((e) => !e.includes('"'))).toBe(true);
    expect(renderedAddressBook("alice@example.test", { resourceLists: '"e1"', rlsServices: null, presRules: null })).toEqual({ "resource-lists/users/sip:alice@example.test/index": "e1" });
  });
});
