/**
 * The buddy list's address-book flows (no live SIP needed): add / edit / move / delete contacts,
 * groups, block / unblock, search, rollback on a refused change. Every change is checked again
 * after a reload, i.e. in the XCAP documents. Runs as carol so the presence flows (alice, bob)
 * keep a clean address book.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, login, screenshot } from "./browser";

const baseUrl = inject("baseUrl");
const users = inject("users");

function row(page: Page, uri: string) {
  return page.getByTestId(`contact-${uri}`);
}

async function addContact(page: Page, opts: { address: string; name: string; group?: string; allow?: boolean }) {
  await page.getByRole("button", { name: "Add contact" }).click();
  const dialog = page.getByRole("dialog", { name: "Add contact" });
  await dialog.getByLabel("SIP address").fill(opts.address);
  await dialog.getByLabel("Name").fill(opts.name);
  if (opts.group) await dialog.getByLabel("Group").selectOption({ label: opts.group });
  if (opts.allow === false) await dialog.getByLabel("Let them see my status").uncheck();
  await dialog.getByRole("button", { name: "Add contact" }).click();
}

/** A row's action from its "Actions for …" menu. */
async function rowAction(page: Page, uri: string, item: string) {
  await row(page, uri).getByRole("button", { name: /^Actions for / }).click();
  await page.getByRole("menuitem", { name: item }).click();
}

async function idle(page: Page) {
  // optimistic rows carry "Saving…" until the server answered and the list was reloaded
  await expect.poll(() => page.getByText("Saving…").count(), { timeout: 10_000 }).toBe(0);
}

describe("buddy list: address book", () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    browser = await launchBrowser();
    context = await browser.newContext();
    page = await login(context, baseUrl, users.carol);
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") await screenshot(page, `failure-${ctx.task.name.replace(/\W+/g, "-")}`).catch(() => undefined);
  });

  it("adds a contact through the dialog; it is in the list at once and after a reload", async () => {
    await addContact(page, { address: "dave@example.test", name: "Dave Example" });
    const dave = row(page, "sip:dave@example.test");
    await expect.poll(() => dave.getByTestId("contact-name").textContent()).toBe("Dave Example");
    await idle(page);
    await expect.poll(() => page.getByTestId("action-status").textContent()).toBe("Dave Example added.");
    await page.reload();
    await expect.poll(() => row(page, "sip:dave@example.test").getByTestId("contact-name").textContent()).toBe("Dave Example");
    // dave has no account: the list's back end ends with noresource (RFC 4662 §5.2), shown as offline with shape and text
    await expect.poll(() => row(page, "sip:dave@example.test").getAttribute("data-availability"), { timeout: 15_000 }).toBe("offline");
    expect(await row(page, "sip:dave@example.test").getByText("Offline", { exact: true }).isVisible()).toBe(true);
  });

  it("rejects an address that is not a SIP address in the dialog", async () => {
    await page.getByRole("button", { name: "Add contact" }).click();
    const dialog = page.getByRole("dialog", { name: "Add contact" });
    await dialog.getByLabel("SIP address").fill("not an address");
    await dialog.getByRole("button", { name: "Add contact" }).click();
    await expect.poll(() => dialog.getByText("That is not a SIP address").isVisible()).toBe(true);
    expect(await dialog.getByLabel("SIP address").getAttribute("aria-invalid")).toBe("true");
    await page.keyboard.press("Escape");
    await expect.poll(() => dialog.isVisible()).toBe(false);
  });

  it("creates a group, adds a contact into it and puts another one there", async () => {
    await page.getByRole("button", { name: "New group" }).click();
    const dlg = page.getByRole("dialog", { name: "New group" });
    await dlg.getByLabel("Group name").fill("Friends");
    await dlg.getByRole("button", { name: "Create group" }).click();
    await expect.poll(() => page.getByRole("heading", { name: /^Friends/ }).count()).toBe(1);
    await idle(page);
    await expect.poll(() => page.getByTestId("action-status").textContent()).toBe("Group Friends created.");

    await addContact(page, { address: "erin@example.test", name: "Erin", group: "Friends" });
    await idle(page);
    const friends = page.getByTestId("group-Friends");
    await expect.poll(() => friends.getByTestId("contact-sip:erin@example.test").count()).toBe(1);

    // dave → Friends
    await rowAction(page, "sip:dave@example.test", "Groups… of Dave Example");
    const move = page.getByRole("dialog", { name: "Groups of Dave Example" });
    // only Friends (the dialog's first group may have been the default for a new contact)
    for (const box of await move.getByRole("checkbox").all()) await box.uncheck();
    await move.getByLabel("Friends").check();
    await move.getByRole("button", { name: "Save groups" }).click();
    await expect.poll(() => friends.getByTestId("contact-sip:dave@example.test").count()).toBe(1);
    await idle(page);
    await page.reload();
    const friendsAfter = page.getByTestId("group-Friends");
    await expect.poll(() => friendsAfter.getByTestId("contact-sip:dave@example.test").count()).toBe(1);
    expect(await friendsAfter.getByTestId("contact-sip:erin@example.test").count()).toBe(1);
    expect(await friendsAfter.getByTestId("group-count").textContent()).toContain("0/2");
  });

  it("collapses and expands a group with the keyboard", async () => {
    const toggle = page.getByRole("button", { name: /^Friends/ });
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    await toggle.focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => toggle.getAttribute("aria-expanded")).toBe("false");
    expect(await page.getByTestId("contact-sip:erin@example.test").count()).toBe(0);
    await page.keyboard.press("Space");
    await expect.poll(() => toggle.getAttribute("aria-expanded")).toBe("true");
    expect(await page.getByTestId("contact-sip:erin@example.test").count()).toBe(1);
  });

  it("edits a contact's name and persists it", async () => {
    await rowAction(page, "sip:erin@example.test", "Edit Erin");
    const dlg = page.getByRole("dialog", { name: "Edit Erin" });
    expect(await dlg.getByLabel("SIP address").inputValue()).toBe("erin@example.test");
    await dlg.getByLabel("Name").fill("Erin Smith");
    await dlg.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => row(page, "sip:erin@example.test").getByTestId("contact-name").textContent()).toBe("Erin Smith");
    await idle(page);
    await page.reload();
    await expect.poll(() => row(page, "sip:erin@example.test").getByTestId("contact-name").textContent()).toBe("Erin Smith");
  });

  it("filters as you type in the search box", async () => {
    const search = page.getByRole("searchbox", { name: "Search contacts" });
    await search.fill("eri");
    await expect.poll(() => row(page, "sip:dave@example.test").count()).toBe(0);
    expect(await row(page, "sip:erin@example.test").count()).toBe(1);
    await search.fill("example.test dave");
    await expect.poll(() => row(page, "sip:dave@example.test").count()).toBe(1);
    expect(await row(page, "sip:erin@example.test").count()).toBe(0);
    await search.fill("zzz-nobody");
    await expect.poll(() => page.getByTestId("no-matches").isVisible()).toBe(true);
    await search.fill("");
    await expect.poll(() => row(page, "sip:dave@example.test").count()).toBe(1);
    expect(await row(page, "sip:erin@example.test").count()).toBe(1);
  });

  it("blocks a contact (Blocked group) and unblocks it again", async () => {
    await rowAction(page, "sip:dave@example.test", "Block Dave Example");
    const blocked = page.getByTestId("blocked-sip:dave@example.test");
    await expect.poll(() => blocked.isVisible()).toBe(true);
    await idle(page);
    await expect.poll(() => page.getByTestId("action-status").textContent()).toBe("Dave Example blocked.");
    await page.reload();
    await expect.poll(() => page.getByTestId("blocked-sip:dave@example.test").isVisible()).toBe(true);
    await page.getByTestId("blocked-sip:dave@example.test").getByRole("button", { name: "Unblock Dave Example" }).click();
    await expect.poll(() => page.getByTestId("blocked-sip:dave@example.test").count()).toBe(0);
    await expect.poll(() => page.getByTestId("action-status").textContent()).toBe("Dave Example unblocked.");
    await page.reload();
    await expect.poll(() => row(page, "sip:dave@example.test").count()).toBe(1);
    expect(await page.getByTestId("blocked-sip:dave@example.test").count()).toBe(0);
  });

  it("rolls back a change the server refuses and shows why", async () => {
    // a group name that exists already: the optimistic group disappears again
    await page.getByRole("button", { name: "New group" }).click();
    const dlg = page.getByRole("dialog", { name: "New group" });
    await dlg.getByLabel("Group name").fill("friends");
    await dlg.getByRole("button", { name: "Create group" }).click();
    await expect.poll(() => page.getByTestId("action-error").textContent(), { timeout: 10_000 }).toContain("already exists");
    expect(await page.getByRole("heading", { name: /^friends/ }).count()).toBe(0);
    expect(await page.getByRole("heading", { name: /^Friends/ }).count()).toBe(1);

    // an address the XCAP address book refuses
    await addContact(page, { address: "bo#b@example.test", name: "Bad Bob" });
    await expect.poll(() => page.getByTestId("action-error").textContent(), { timeout: 10_000 }).toContain("Adding Bad Bob failed");
    expect(await page.getByText("Bad Bob", { exact: true }).count()).toBe(0);
    await page.getByRole("button", { name: "Dismiss error" }).click();
    expect(await page.getByTestId("action-error").count()).toBe(0);
  });

  it("deletes a contact after confirming", async () => {
    await rowAction(page, "sip:erin@example.test", "Delete Erin Smith");
    const dlg = page.getByRole("dialog", { name: "Delete Erin Smith?" });
    await dlg.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => row(page, "sip:erin@example.test").count()).toBe(0);
    await expect.poll(() => page.getByTestId("action-status").textContent()).toBe("Erin Smith deleted.");
    await page.reload();
    await expect.poll(() => row(page, "sip:dave@example.test").count()).toBe(1);
    expect(await row(page, "sip:erin@example.test").count()).toBe(0);
  });

  it("renames and deletes a group; its contacts stay", async () => {
    await page.getByRole("button", { name: "Actions for group Friends" }).click();
    await page.getByRole("menuitem", { name: "Rename group Friends" }).click();
    const dlg = page.getByRole("dialog", { name: "Rename group" });
    await dlg.getByLabel("Group name").fill("Pals");
    await dlg.getByRole("button", { name: "Rename" }).click();
    await expect.poll(() => page.getByTestId("group-Pals").count()).toBe(1);
    await idle(page);
    await expect.poll(() => page.getByTestId("action-status").textContent()).toBe("Group renamed to Pals.");
    await page.getByRole("button", { name: "Actions for group Pals" }).click();
    await page.getByRole("menuitem", { name: "Delete group Pals" }).click();
    await page.getByRole("dialog", { name: "Delete group Pals?" }).getByRole("button", { name: "Delete group" }).click();
    await expect.poll(() => page.getByTestId("group-Pals").count()).toBe(0);
    await expect.poll(() => page.getByTestId("action-status").textContent()).toBe("Group Pals deleted.");
    await page.reload();
    expect(await page.getByTestId("group-Pals").count()).toBe(0);
    await expect.poll(() => row(page, "sip:dave@example.test").count()).toBe(1);
  });
});
