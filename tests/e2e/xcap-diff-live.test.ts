/**
 * The page follows address-book changes made elsewhere (xcap-diff, RFC 5875): a raw XCAP client
 * over HTTP with the account's digest credentials — as Blink writes — adds a contact and renames
 * a group while the buddy list is open; the open page shows both within 2 s, without a reload.
 * Runs as its own account (added with the operator CLI) so the other flows keep their lists.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { digestHa1 } from "@/lib/accounts/password";
import { AddressBook } from "@/lib/xcap/addressbook";
import { XcapClient } from "@/lib/xcap/client";
import { launchBrowser, login, screenshot } from "./browser";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const USER = { address: "xena@example.test", password: "Warrior-Princess-1" };
/** The acceptance bound: a change made elsewhere shows within 2 s. */
const BOUND_MS = 2000;

/** Blink's view of xena's documents: the XCAP root over HTTP, digest with her SIP credentials. */
function blink(baseUrl: string): AddressBook {
  const client = new XcapClient({ root: `${baseUrl}/xcap-root`, xui: `sip:${USER.address}`, auth: { username: "xena", ha1: digestHa1("xena", "example.test", USER.password) } });
  return new AddressBook({ client });
}

describe("the open page follows changes made elsewhere (xcap-diff)", () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const baseUrl = inject("baseUrl");

  beforeAll(async () => {
    const dataDir = inject("dataDir");
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "lib/cli/main.ts"), "accounts", "add", USER.address, "--password", USER.password, "--name", "Xena"],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: `file:${path.join(dataDir, "herald.db")}`, HERALD_DATA_DIR: dataDir }, encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    browser = await launchBrowser();
    context = await browser.newContext();
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail" && page) await screenshot(page, `failure-${ctx.task.name.replace(/\W+/g, "-")}`).catch(() => undefined);
  });

  it("a raw XCAP client adds a contact and renames a group: the open page shows both within 2 s", async () => {
    const book = blink(baseUrl);
    const group = await book.createGroup({ name: "Team" });
    page = await login(context, baseUrl, USER);
    await expect.poll(() => page.getByTestId("group-Team").count()).toBe(1);
    await expect.poll(() => page.getByTestId("connection-status").getAttribute("data-connection"), { timeout: 15_000 }).toBe("online");

    const t0 = Date.now();
    await book.addContact({ name: "Gabrielle", uris: ["gabrielle@example.test"], groups: [group.id] });
    await book.renameGroup(group.id, "Companions");
    const written = Date.now();
    await expect.poll(() => page.getByTestId("contact-sip:gabrielle@example.test").count(), { timeout: BOUND_MS, interval: 50 }).toBe(1);
    await expect.poll(() => page.getByTestId("group-Companions").count(), { timeout: Math.max(100, BOUND_MS - (Date.now() - written)), interval: 50 }).toBe(1);
    expect(await page.getByTestId("group-Team").count()).toBe(0);
    expect(Date.now() - written).toBeLessThan(BOUND_MS);
    expect(t0).toBeLessThanOrEqual(written);
  });
});
