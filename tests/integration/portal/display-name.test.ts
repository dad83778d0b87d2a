/**
 * A display-name change (My Presence, console, API all call changeDisplayName): the account
 * changes, and the entries other users keep for the person follow when they carry the old name or
 * none — a name someone typed stays theirs — through the owners' XCAP documents (so their open
 * pages follow by xcap-diff).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "@/lib/config";
import { addAccount, addDomain, getAccount } from "@/lib/accounts/service";
import { changeDisplayName, changeOwnDisplayName, DisplayNameRateError } from "@/lib/portal/display-name";
import { addressBookFor } from "@/lib/portal/presence-documents";
import { xcapEvents } from "@/lib/portal/xcap-events";
import type { XcapChangeEvent } from "@/lib/xcap/server";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";

describe("display-name changes", () => {
  let t: TempDb;
  const events: XcapChangeEvent[] = [];
  let unsubscribe: () => void;

  beforeAll(async () => {
    (globalThis as { __heraldConfig?: unknown }).__heraldConfig = loadConfig({ HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-dn-")), PORT: "3999", DISPLAY_NAME_CHANGES_PER_HOUR: "3" });
    t = await tempSqliteDb();
    await addDomain(t.db, "example.test");
    for (const u of ["dora", "ben", "cat", "eve", "fay", "gus"]) await addAccount(t.db, { address: `${u}@example.test`, password: "Pass-word-1", displayName: u === "dora" ? "Dora" : undefined });
    unsubscribe = xcapEvents().subscribe((e) => events.push(e));
  });
  afterAll(async () => {
    unsubscribe?.();
    await t?.close();
  });

  const nameIn = async (owner: string) => (await (await addressBookFor(`${owner}@example.test`)).load()).contacts.find((c) => c.uris.some((u) => u.uri === "sip:dora@example.test"))?.name;

  it("renames the entries that showed the old name or none, keeps a name someone chose, and changes the account", async () => {
    await (await addressBookFor("ben@example.test")).addContact({ name: "Dora", uris: ["dora@example.test"] });
    await (await addressBookFor("cat@example.test")).addContact({ name: "", uris: ["sip:dora@example.test"] });
    await (await addressBookFor("eve@example.test")).addContact({ name: "Aunt D", uris: ["dora@example.test"] });
    events.length = 0;

    const view = await changeDisplayName(t.db, "dora@example.test", "Dora Ильина 🌊", "dora@example.test");
    expect(view.displayName).toBe("Dora Ильина 🌊");
    expect((await getAccount(t.db, "dora@example.test"))?.displayName).toBe("Dora Ильина 🌊");
    expect(await nameIn("ben")).toBe("Dora Ильина 🌊");
    expect(await nameIn("cat")).toBe("Dora Ильина 🌊");
    expect(await nameIn("eve")).toBe("Aunt D");
    // the owners' documents changed through XCAP (what xcap-diff tells their pages), eve's did not
    const changed = new Set(events.filter((e) => e.auid === "resource-lists").map((e) => e.user));
    expect(changed).toEqual(new Set(["sip:ben@example.test", "sip:cat@example.test"]));
  });

  it("the same name again changes nothing", async () => {
    events.length = 0;
    await changeDisplayName(t.db, "dora@example.test", "Dora Ильина 🌊");
    expect(events).toEqual([]);
  });

  it(`My Presence (changeOwnDisplayName): DISPLAY_NAME_CHANGES_PER_HOUR renames an hour; one more changes nothing and says when to try again`, async () => {
    await (await addressBookFor("gus@example.test")).addContact({ name: "", uris: ["sip:fay@example.test"] });
    for (const name of ["Fay 1", "Fay 2", "Fay 3"]) expect((await changeOwnDisplayName(t.db, "fay@example.test", name)).displayName).toBe(name);
    // saving the name one has is no rename: not counted
    expect((await changeOwnDisplayName(t.db, "fay@example.test", " Fay 3 ")).displayName).toBe("Fay 3");
    events.length = 0;
    const refused = await changeOwnDisplayName(t.db, "fay@example.test", "Fay 4").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DisplayNameRateError);
    expect((refused as DisplayNameRateError).retryAfterSeconds).toBeGreaterThan(3000);
    expect((refused as DisplayNameRateError).message).toMatch(/^You changed your name too often\. Try again in \d+ minutes\.$/);
    // nothing changed: the account, gus's entry, no XCAP write
    expect((await getAccount(t.db, "fay@example.test"))?.displayName).toBe("Fay 3");
    expect((await (await addressBookFor("gus@example.test")).load()).contacts[0].name).toBe("Fay 3");
    expect(events).toEqual([]);
    // another user is not held back by fay's renames
    expect((await changeOwnDisplayName(t.db, "gus@example.test", "Gus")).displayName).toBe("Gus");
  });
});
