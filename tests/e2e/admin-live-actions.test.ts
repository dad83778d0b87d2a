/**
 * The console's live actions, department lists and service charts (ISSUE-16 items 2 and 4) in
 * Chromium against `herald start`: the operator ends a user's web-page registration and that page
 * says the operator signed it out, then the sign-in page says it again (and the browser is signed
 * out); a department list made in the console is offered on the user's buddy list and added as a
 * group; the service charts show a failed login within the next poll. Each screen axe clean.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, login, screenshot } from "./browser";
import { describeViolations, heraldCli, seriousAxeViolations } from "./page-helpers";

const baseUrl = inject("baseUrl");
const users = inject("users");
const dataDir = inject("dataDir");

function herald(...args: string[]) {
  const r = heraldCli(dataDir, ...args);
  expect(r.status, r.stderr).toBe(0);
}

async function axeClean(page: Page, what: string) {
  const violations = await seriousAxeViolations(page);
  expect(violations, `${what}: ${describeViolations(violations)}`).toEqual([]);
}

describe("console: live actions, department lists, service charts", () => {
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    browser = await launchBrowser();
    admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await login(admin, baseUrl, users.admin, "/admin");
  });
  afterAll(async () => {
    await admin?.close();
    await browser?.close();
  });

  it("ending a page's registration: the page says the operator signed it out, then the sign-in page says it; audited", { timeout: 120_000 }, async () => {
    herald("accounts", "add", "wren@example.test", "--password", "Wren-pass-123");
    const userContext = await browser.newContext();
    const userPage = await login(userContext, baseUrl, { address: "wren@example.test", password: "Wren-pass-123" });
    try {
      await expect.poll(() => userPage.getByTestId("connection-status").getAttribute("data-connection"), { timeout: 30_000 }).toBe("online");
      await page.goto(`${baseUrl}/admin/accounts/${encodeURIComponent("wren@example.test")}`);
      await expect
        .poll(
          async () => {
            await page.reload();
            return page.getByTestId("live-state").textContent();
          },
          { timeout: 30_000 },
        )
        .toMatch(/Registrations \(1\).*web page \(bridge\)/);
      await axeClean(page, "account page with live actions");
      await page.getByTestId("end-registration-0").click();
      await expect.poll(() => page.getByTestId("end-registration-0-outcome").textContent(), { timeout: 15_000 }).toBe("Registration ended; the page was signed out.");
      await expect.poll(() => userPage.getByTestId("connection-status").textContent(), { timeout: 5000, interval: 100 }).toContain("The operator signed you out");
      await userPage.waitForURL(/\/login\?ended=operator/, { timeout: 15_000 });
      await expect.poll(() => userPage.getByTestId("session-ended").textContent()).toContain("The operator signed you out");
      // the browser was signed out: the buddy list asks to sign in again
      await userPage.goto(`${baseUrl}/`);
      await userPage.waitForURL(/\/login/);
      await page.goto(`${baseUrl}/admin/audit?action=live.registration.end`);
      await expect.poll(() => page.getByRole("table").textContent()).toContain("wren@example.test");
    } catch (e) {
      await screenshot(userPage, "live-actions-user");
      await screenshot(page, "live-actions-admin");
      throw e;
    } finally {
      await userContext.close();
    }
  });

  it("a department list made in the console is offered on a user's buddy list and added as a group", { timeout: 120_000 }, async () => {
    await page.goto(`${baseUrl}/admin/lists`);
    const form = page.getByRole("form", { name: "Add list" });
    await form.getByLabel("SIP address of the list").fill("engineering@example.test");
    await form.getByLabel("Display name").fill("Engineering");
    await form.getByLabel("Members").fill(`${users.bob.address} Bob\n${users.carol.address}`);
    await form.getByRole("button", { name: "Add list" }).click();
    await expect.poll(() => page.getByTestId("create-list-status").textContent(), { timeout: 15_000 }).toBe("List engineering@example.test created with 2 members.");
    await expect.poll(() => page.getByTestId("list-engineering@example.test").textContent()).toContain("Engineering");
    await axeClean(page, "department lists");
    await page.getByRole("link", { name: "engineering@example.test" }).click();
    await page.waitForURL(/\/admin\/lists\/engineering%40example\.test$/);
    await axeClean(page, "department list");
    // members edited in place: one a line, the address then the name
    const edit = page.getByRole("form", { name: "Edit list" });
    await edit.getByLabel("Members").fill(`${users.bob.address} Bob\n${users.carol.address} Carol C\ndave@example.test`);
    await edit.getByRole("button", { name: "Save list" }).click();
    await expect.poll(() => page.getByTestId("edit-list-status").textContent(), { timeout: 15_000 }).toBe("Saved: 3 members.");
    await expect.poll(() => page.getByTestId("list-summary").textContent()).toContain("3 members");

    // a user of its own: the other suites' users keep their buddy lists as they expect them
    herald("accounts", "add", "yara@example.test", "--password", "Yara-pass-123");
    const userContext = await browser.newContext();
    const yara = await login(userContext, baseUrl, { address: "yara@example.test", password: "Yara-pass-123" });
    try {
      const card = yara.getByTestId("department-lists");
      await card.getByRole("button", { name: "Add as a group: Engineering" }).click();
      await expect.poll(() => yara.getByTestId("department-lists-status").textContent(), { timeout: 15_000 }).toMatch(/^Group Engineering: \d contacts added/);
      await expect.poll(() => yara.getByTestId("buddy-list").textContent(), { timeout: 15_000 }).toContain("Engineering");
      await axeClean(yara, "buddy list with department lists");
      // the charts' data is for operators only
      expect((await yara.request.get(`${baseUrl}/admin/service/samples`)).status()).toBe(403);
    } catch (e) {
      await screenshot(yara, "department-list-buddy");
      throw e;
    } finally {
      await userContext.close();
    }
    // deleted in the console (after a confirmation): gone from the table
    await page.getByRole("button", { name: "Delete list" }).click();
    await page.getByTestId("delete-list-dialog").getByRole("button", { name: "Delete" }).click();
    await page.waitForURL(/\/admin\/lists\?deleted=engineering%40example\.test$/);
    await expect.poll(() => page.getByTestId("list-engineering@example.test").count()).toBe(0);
  });

  it("service charts: five charts of the last hour; a failed login shows within the next poll", { timeout: 120_000 }, async () => {
    await page.goto(`${baseUrl}/admin/service`);
    for (const name of ["usersOnline", "publications", "subscriptions", "notifiesPerMinute", "loginFailuresPerMinute"]) {
      await expect.poll(() => page.getByTestId(`chart-${name}`).count()).toBe(1);
    }
    await expect(page.getByRole("img", { name: /Login failures per minute/ }).count()).resolves.toBe(1);
    const before = Number(await page.getByTestId("chart-loginFailuresPerMinute-latest").textContent());
    const other = await browser.newContext();
    try {
      const p = await other.newPage();
      await p.goto(`${baseUrl}/login`);
      await p.getByLabel("SIP address").fill(users.carol.address);
      await p.getByLabel("Password").fill("not-the-password-1");
      await p.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => p.getByTestId("login-error").count(), { timeout: 15_000 }).toBeGreaterThan(0);
      expect((await other.request.get(`${baseUrl}/admin/service/samples`)).status()).toBe(401);
    } finally {
      await other.close();
    }
    // no reload: the page polls
    await expect.poll(async () => Number(await page.getByTestId("chart-loginFailuresPerMinute-latest").textContent()), { timeout: 20_000 }).toBeGreaterThan(before);
    await axeClean(page, "service charts");
    for (const scheme of ["light", "dark"] as const) {
      const ctx = await browser.newContext({ storageState: await admin.storageState(), viewport: { width: 390, height: 900 }, colorScheme: scheme });
      try {
        const p = await ctx.newPage();
        for (const s of ["/admin/service", "/admin/lists"]) {
          await p.goto(`${baseUrl}${s}`);
          await axeClean(p, `${s} 390px ${scheme}`);
          const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          expect(overflow, `${s} 390px: page scrolls sideways`).toBeLessThanOrEqual(0);
        }
      } finally {
        await ctx.close();
      }
    }
  });
});
