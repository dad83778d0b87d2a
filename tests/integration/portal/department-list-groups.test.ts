/**
 * A department list on a user's buddy list (ISSUE-16 item 4), through the embedded XCAP root
 * in-process as the server action does it: the lists of the user's own domain are offered; adding
 * one copies its members into the address book as a group named after the list (existing contacts
 * join it, new ones are watched without changing who may see the user), in the RLS list the page
 * subscribes to; adding again brings in new members only; a list of another domain is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "@/lib/config";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { createDepartmentList, updateDepartmentList } from "@/lib/accounts/department-lists";
import { addressBookFor } from "@/lib/portal/presence-documents";
import { addDepartmentListGroup, departmentListsFor } from "@/lib/portal/department-list-groups";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";

describe("department lists on the buddy list", () => {
  let t: TempDb;

  beforeAll(async () => {
    (globalThis as { __heraldConfig?: unknown }).__heraldConfig = loadConfig({ HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-dlg-")), PORT: "3999" });
    t = await tempSqliteDb();
    await addDomain(t.db, "example.test");
    await addDomain(t.db, "other.test");
    await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1" });
    await createDepartmentList(t.db, { address: "engineering@example.test", displayName: "Engineering", members: [{ address: "alice@example.test" }, { address: "bob@example.test", displayName: "Bob B" }, { address: "carol@example.test" }] });
    await createDepartmentList(t.db, { address: "sales@other.test", members: [{ address: "olga@other.test" }] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("offers the lists of the user's domain, copies one in as a group; again brings in new members; another domain's is refused", async () => {
    expect(await departmentListsFor("alice@example.test")).toEqual([{ address: "engineering@example.test", name: "Engineering", members: 3 }]);
    const book = await addressBookFor("alice@example.test");
    const carol = await book.addContact({ name: "Carol", uris: ["carol@example.test"] });

    expect(await addDepartmentListGroup("alice@example.test", "engineering@example.test")).toEqual({ group: "Engineering", added: 1, joined: 1 });
    let model = await book.load();
    const group = model.groups.find((g) => g.name === "Engineering")!;
    expect(group).toBeDefined();
    const bob = model.contacts.find((c) => c.uris.some((u) => u.uri === "sip:bob@example.test"))!;
    expect(bob).toMatchObject({ name: "Bob B", presence: { policy: "default", subscribe: true } });
    expect(group.contactIds.sort()).toEqual([bob.id, carol.id].sort());
    // watched: in the list the page's RLS subscription resolves
    const rl = (await t.db.xcapDocument.findFirst({ where: { auid: "resource-lists", xui: "sip:alice@example.test" } }))!.content;
    expect(rl).toMatch(/<list name="sipsimple_presence_rls">[\s\S]*sip:bob@example.test/);

    await updateDepartmentList(t.db, "engineering@example.test", { add: [{ address: "dave@example.test" }] });
    expect(await addDepartmentListGroup("alice@example.test", "engineering@example.test")).toEqual({ group: "Engineering", added: 1, joined: 0 });
    model = await book.load();
    expect(model.groups.filter((g) => g.name === "Engineering")).toHaveLength(1);
    expect(model.contacts).toHaveLength(3);

    await expect(addDepartmentListGroup("alice@example.test", "sales@other.test")).rejects.toThrow(/no department list sales@other.test for example.test/);
    await expect(addDepartmentListGroup("alice@example.test", "nothing@example.test")).rejects.toThrow(/no department list/);
  });
});
