/**
 * Accessibility of the buddy list and My Presence: an axe-core scan with no serious or critical
 * violations (with contacts, a group, a blocked address and an open dialog), keyboard
 * reachability of "Add contact" and the status picker, and full-page screenshots under
 * test-results/ so the look can be judged.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, login, screenshot } from "./browser";
import { describeViolations, seriousAxeViolations, tabUntil } from "./page-helpers";

const baseUrl = inject("baseUrl");
const users = inject("users");

describe("accessibility", () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    browser = await launchBrowser();
    // carol (alice and bob are kept for the live presence flows): a group, contacts and a blocked address
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    page = await login(context, baseUrl, users.carol);
    await page.getByRole("button", { name: "New group" }).click();
    await page.getByRole("dialog", { name: "New group" }).getByLabel("Group name").fill("Team");
    await page.getByRole("dialog", { name: "New group" }).getByRole("button", { name: "Create group" }).click();
    await page.getByTestId("action-status").getByText("Group Team created.", { exact: true }).waitFor({ timeout: 10_000 });
    for (const [address, name] of [
      ["frank@example.test", "Frank Castle"],
      ["grace@example.test", "Grace Hopper"],
    ]) {
      await page.getByRole("button", { name: "Add contact" }).click();
      const d = page.getByRole("dialog", { name: "Add contact" });
      await d.getByLabel("SIP address").fill(address);
      await d.getByLabel("Name").fill(name);
      await d.getByRole("button", { name: "Add contact" }).click();
      await page.getByTestId("action-status").getByText(`${name} added.`, { exact: true }).waitFor({ timeout: 10_000 });
    }
    // new rows show "Saving…" (their actions disabled) until the server's address book is back
    await page.getByText("Saving…").first().waitFor({ state: "detached", timeout: 10_000 });
    await page.getByTestId("contact-sip:frank@example.test").getByRole("button", { name: "Actions for Frank Castle" }).click();
    await page.getByRole("menuitem", { name: "Block Frank Castle" }).click();
    await page.getByTestId("action-status").getByText("Frank Castle blocked.", { exact: true }).waitFor({ timeout: 10_000 });
    await page.reload();
    await page.getByTestId("blocked-sip:frank@example.test").waitFor();
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
  });

  it("the buddy list has no serious or critical axe violations", async () => {
    await page.getByTestId("contact-sip:grace@example.test").getByRole("button", { name: /^Grace Hopper.*show details/ }).click();
    await expect.poll(() => page.getByRole("region", { name: "Presence information for Grace Hopper" }).isVisible()).toBe(true);
    const violations = await seriousAxeViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);
    await screenshot(page, "buddy-list");
  });

  it("the add-contact dialog has no serious or critical axe violations and keeps focus inside", async () => {
    await page.getByRole("button", { name: "Add contact" }).click();
    const dialog = page.getByRole("dialog", { name: "Add contact" });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await expect.poll(() => page.evaluate(() => document.activeElement?.closest("dialog") !== null)).toBe(true);
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      // Chromium may move focus to the browser UI after the last control; it never lands in the page behind
      expect(await page.evaluate(() => document.activeElement === document.body || document.activeElement?.closest("dialog") !== null)).toBe(true);
    }
    const violations = await seriousAxeViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);
    await screenshot(page, "buddy-list-add-contact");
    await page.keyboard.press("Escape");
    await expect.poll(() => dialog.isVisible()).toBe(false);
    // focus returns to the button that opened the dialog
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent?.trim())).toBe("+ Add contact");
  });

  it("Add contact is reachable with Tab and opens with Enter", async () => {
    const presses = await tabUntil(page, (el) => el.tag === "button" && el.name.endsWith("Add contact"));
    expect(presses).toBeGreaterThan(0);
    await page.keyboard.press("Enter");
    await expect.poll(() => page.getByRole("dialog", { name: "Add contact" }).isVisible()).toBe(true);
    await page.keyboard.press("Escape");
    // every contact action is reachable too: Tab to the list, ArrowRight to the row's menu, arrows inside it
    expect(await tabUntil(page, (el) => el.testId === null && el.tag === "button" && /show details|hide details/.test(el.name), 120)).toBeGreaterThan(0);
    await page.keyboard.press("Home");
    for (let i = 0; i < 10 && !(await page.evaluate(() => document.activeElement?.textContent ?? "")).startsWith("Grace Hopper"); i++) await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("Enter");
    await page.keyboard.press("End");
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent?.trim())).toBe("Delete Grace Hopper");
    await page.keyboard.press("Escape");
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe("Actions for Grace Hopper");
    expect(await tabUntil(page, (el) => el.tag === "button" && el.name.startsWith("Unblock") && el.name.includes("Frank Castle"), 120)).toBeGreaterThan(0);
  });

  it("My Presence has no serious or critical axe violations and the status picker is reachable with Tab", async () => {
    await page.getByRole("link", { name: "My Presence" }).click();
    await page.waitForURL(/\/me$/);
    await expect.poll(() => page.getByTestId("status-picker").isVisible()).toBe(true);
    const presses = await tabUntil(page, (el) => el.testId === "status-picker");
    expect(presses).toBeGreaterThan(0);
    expect(await tabUntil(page, (el) => el.tag === "button" && el.name === "Publish")).toBeGreaterThan(presses);
    // a radio group is one Tab stop (the checked radio); arrows move within it
    expect(await tabUntil(page, (el) => el.tag === "input" && el.label === "Ask me", 120)).toBeGreaterThan(0);
    expect(await tabUntil(page, (el) => el.tag === "button" && el.name === "Save offline status", 120)).toBeGreaterThan(0);
    const violations = await seriousAxeViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);
    await screenshot(page, "my-presence");
  });
});
