/**
 * The live-presence browser steps that presence-flows.test.ts (embedded server) and
 * kamailio-flows.test.ts (Kamailio behind the bridge) both run, with the same assertions.
 */
import { expect } from "vitest";
import type { BrowserContext, Page, WebSocketRoute } from "playwright-core";
import { screenshot } from "./browser";

/** The acceptance bound for a change to reach a watcher. */
export const LIVE_MS = 2000;

export async function publish(page: Page, status: string, note: string) {
  await page.getByTestId("status-picker").selectOption(status);
  await page.getByLabel("Note", { exact: true }).fill(note);
  await page.getByRole("button", { name: "Publish" }).click();
}

export async function online(page: Page) {
  await expect.poll(() => page.getByTestId("connection-status").getAttribute("data-connection"), { timeout: 15_000 }).toBe("online");
}

const availabilityOf = (watcher: Page, presentity: string) => watcher.getByTestId(`contact-${presentity}`).getAttribute("data-availability");

/** Full-page screenshots of every page of the failed test's contexts. */
export async function screenshotFailure(test: string, contexts: Record<string, BrowserContext | undefined>, prefix = "") {
  for (const [who, c] of Object.entries(contexts)) {
    for (const [i, p] of (c?.pages() ?? []).entries()) {
      await screenshot(p, `${prefix}failure-${test.replace(/\W+/g, "-")}-${who}-${i}`).catch(() => undefined);
    }
  }
}

/** The presentity switches to busy; the watcher sees busy and the note within LIVE_MS. */
export async function busyReachesWatcher(presentityPage: Page, watcher: Page, presentity: string, shot: string) {
  await publish(presentityPage, "busy", "In a meeting");
  const row = watcher.getByTestId(`contact-${presentity}`);
  await expect.poll(() => row.getAttribute("data-availability"), { timeout: LIVE_MS, interval: 50 }).toBe("busy");
  await expect.poll(() => row.getByTestId("contact-note").textContent(), { timeout: LIVE_MS }).toBe("In a meeting");
  await screenshot(watcher, shot);
}

/** "away" set in a second tab of the presentity shows in the first tab and at the watcher. */
export async function secondTabStatusShows(ctx: BrowserContext, first: Page, watcher: Page, presentity: string, baseUrl: string) {
  const second = await ctx.newPage();
  await second.goto(`${baseUrl}/me`);
  await online(second);
  await publish(second, "away", "Lunch");
  await expect.poll(() => first.getByTestId("my-current-status").textContent(), { timeout: 5000 }).toContain("Away");
  await expect.poll(() => first.getByTestId("status-picker").inputValue()).toBe("away");
  await expect.poll(() => availabilityOf(watcher, presentity), { timeout: 5000 }).toBe("away");
  await second.close({ runBeforeUnload: true });
}

/** The watcher's bridge connection is cut: "Reconnecting…", nothing shown as live, then live state again. */
export async function cutConnectionThenLive(socket: WebSocketRoute | undefined, watcher: Page, presentity: string, expected: string) {
  expect(socket).toBeDefined();
  await socket!.close({ code: 1011, reason: "test cut" });
  await expect.poll(() => watcher.getByTestId("connection-status").getAttribute("data-connection"), { timeout: 5000 }).toBe("reconnecting");
  expect(await watcher.getByTestId("connection-status").textContent()).toBe("Reconnecting…");
  // nothing stays shown as live while the connection is down
  expect(await availabilityOf(watcher, presentity)).toBe("unknown");
  await online(watcher);
  await expect.poll(() => availabilityOf(watcher, presentity), { timeout: 10_000 }).toBe(expected);
}

/**
 * The presentity closes their tab: the watcher sees them offline. The removal PUBLISH (Expires: 0)
 * leaves on pagehide with preemptive digest credentials, so it takes effect even though the page is
 * gone before any challenge could be answered.
 */
export async function tabCloseShowsOffline(presentityPage: Page, watcher: Page, presentity: string, shot: string) {
  await presentityPage.close({ runBeforeUnload: true });
  await expect.poll(() => availabilityOf(watcher, presentity), { timeout: 5000 }).toBe("offline");
  await screenshot(watcher, shot);
}

/** Add a contact from the buddy list's "Add contact" dialog and wait for the server's answer. */
export async function addContactViaDialog(page: Page, address: string, name: string) {
  await page.getByRole("button", { name: "Add contact" }).click();
  const dlg = page.getByRole("dialog", { name: "Add contact" });
  await dlg.getByLabel("SIP address").fill(address);
  await dlg.getByLabel("Name").fill(name);
  await dlg.getByRole("button", { name: "Add contact" }).click();
  await page.getByTestId("action-status").getByText(`${name} added.`, { exact: true }).waitFor({ timeout: 10_000 });
}

/** The watcher's request shows under New contact requests; Allow it and see it go. */
export async function allowRequest(page: Page, watcher: string, shot: string) {
  const request = page.getByTestId(`request-${watcher}`);
  await request.waitFor({ timeout: 10_000 });
  await screenshot(page, shot);
  await request.getByRole("button", { name: /^Allow/ }).click();
  await expect.poll(() => page.getByTestId(`request-${watcher}`).count()).toBe(0);
}

/** The watcher sees the presentity available with `note` and the picture "Picture of <name>". */
export async function seesAvailableWithNoteAndPicture(watcher: Page, presentity: string, note: string, name: string) {
  const row = watcher.getByTestId(`contact-${presentity}`);
  await expect.poll(() => row.getAttribute("data-availability"), { timeout: 15_000 }).toBe("available");
  await expect.poll(() => row.getByTestId("contact-note").textContent()).toBe(note);
  await expect
    .poll(() => row.getByRole("img", { name: `Picture of ${name}` }).getAttribute("src", { timeout: 1000 }).catch(() => null), { timeout: 5000 })
    .toMatch(/^(data:image\/png|blob:)/);
}

/** From My Presence, a fresh PUBLISH with a new note reaches the watcher within LIVE_MS. */
export async function freshPublishReachesWatcher(presentityPage: Page, watcher: Page, presentity: string) {
  await presentityPage.getByRole("link", { name: "My Presence" }).click();
  await presentityPage.waitForURL(/\/me$/);
  await publish(presentityPage, "available", "Reviewing the RLS");
  const row = watcher.getByTestId(`contact-${presentity}`);
  await expect.poll(() => row.getByTestId("contact-note").textContent(), { timeout: LIVE_MS, interval: 50 }).toBe("Reviewing the RLS");
}

/** A new tab of the user (the previous one was closed), online again. */
export async function reopen(ctx: BrowserContext, baseUrl: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(`${baseUrl}/`);
  await online(page);
  return page;
}
