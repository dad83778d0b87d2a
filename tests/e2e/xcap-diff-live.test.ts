/**
 * The page follows changes made elsewhere (xcap-diff, RFC 5875): a raw XCAP client over HTTP
 * with the account's digest credentials — as Blink writes — adds a contact and renames a group
 * while the buddy list is open, and writes the offline status, the picture, the default policy
 * and a block while My Presence is open; the open page shows each within 2 s, without a reload.
 * Runs as its own account (added with the operator CLI) so the other flows keep their lists.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { digestHa1 } from "@/lib/accounts/password";
import { AddressBook } from "@/lib/xcap/addressbook";
import { XcapClient } from "@/lib/xcap/client";
import { composePidf } from "@/lib/presence";
import { AUID, CONTENT_TYPES, NS } from "@/lib/presence/namespaces";
import { STATUS_ICON_DOCUMENT } from "@/lib/xcap/server";
import { launchBrowser, login, screenshot } from "./browser";
import { heraldCli, tinyPng } from "./page-helpers";

const USER = { address: "xena@example.test", password: "Warrior-Princess-1" };
/** The acceptance bound: a change made elsewhere shows within 2 s. */
const BOUND_MS = 2000;

/** Blink's view of xena's documents: the XCAP root over HTTP, digest with her SIP credentials. */
function blinkClient(baseUrl: string): XcapClient {
  return new XcapClient({ root: `${baseUrl}/xcap-root`, xui: `sip:${USER.address}`, auth: { username: "xena", ha1: digestHa1("xena", "example.test", USER.password) } });
}
function blink(baseUrl: string): AddressBook {
  return new AddressBook({ client: blinkClient(baseUrl) });
}

describe("the open page follows changes made elsewhere (xcap-diff)", () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const baseUrl = inject("baseUrl");

  beforeAll(async () => {
    const r = heraldCli(inject("dataDir"), "accounts", "add", USER.address, "--password", USER.password, "--name", "Xena");
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

  it("a raw XCAP client writes the offline status, the picture, the default policy and a block: open My Presence shows each within 2 s", async () => {
    const client = blinkClient(baseUrl);
    const book = blink(baseUrl);
    // a second tab of the session the first test signed in
    page = await context.newPage();
    await page.goto(`${baseUrl}/me`);
    await expect.poll(() => page.getByTestId("connection-status").getAttribute("data-connection"), { timeout: 15_000 }).toBe("online");
    const policy = page.getByTestId("default-policy");
    expect(await policy.getByRole("radio", { name: "Ask me" }).isChecked()).toBe(true);
    expect(await page.getByTestId("icon-preview").getAttribute("data-has-icon")).toBe("false");

    // offline status (pidf-manipulation, as Blink's "offline status" writes it) and picture (OMA pres-content)
    const offline = composePidf({ entity: `sip:${USER.address}`, basic: "closed", extended: "offline", note: "Sailing until Friday", tupleId: "offline_status_tuple", personId: "offline_status" });
    await client.putDocument(AUID.pidfManipulation, "index", offline, { contentType: CONTENT_TYPES.pidf });
    const icon = `<?xml version="1.0" encoding="UTF-8"?>\n<content xmlns="${NS.presContent}"><mime-type>image/png</mime-type><encoding>base64</encoding><data>${tinyPng().toString("base64")}</data></content>`;
    await client.putDocument(AUID.presContent, STATUS_ICON_DOCUMENT, icon, { contentType: CONTENT_TYPES.presContent });
    let written = Date.now();
    await expect.poll(() => page.getByTestId("offline-status").getByLabel("Offline note").inputValue(), { timeout: BOUND_MS, interval: 50 }).toBe("Sailing until Friday");
    expect(await page.getByTestId("offline-status").getAttribute("data-set")).toBe("true");
    await expect.poll(() => page.getByTestId("icon-preview").getAttribute("data-has-icon"), { timeout: Math.max(100, BOUND_MS - (Date.now() - written)), interval: 50 }).toBe("true");
    expect(Date.now() - written).toBeLessThan(BOUND_MS);

    // pres-rules: the default policy and a blocked address
    await book.setDefaultPolicy("polite-block");
    await book.blockUri("sip:mallory@example.test");
    written = Date.now();
    await expect.poll(() => policy.getByRole("radio", { name: "Polite block" }).isChecked(), { timeout: BOUND_MS, interval: 50 }).toBe(true);
    await expect.poll(() => page.getByTestId("blocked-sip:mallory@example.test").count(), { timeout: Math.max(100, BOUND_MS - (Date.now() - written)), interval: 50 }).toBe(1);
    expect(Date.now() - written).toBeLessThan(BOUND_MS);

    // and back: the offline status deleted elsewhere clears the form
    await client.deleteDocument(AUID.pidfManipulation, "index");
    await expect.poll(() => page.getByTestId("offline-status").getAttribute("data-set"), { timeout: BOUND_MS, interval: 50 }).toBe("false");
    expect(await page.getByTestId("offline-status").getByLabel("Offline note").inputValue()).toBe("");
  });
});
