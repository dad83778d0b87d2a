/**
 * An open page whose account is disabled by the operator CLI (another process) says why within
 * seconds and goes to the login page, which says it again (ISSUE-11 item 9); a page loaded with a
 * session from before a password change goes to the login page with that reason.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser } from "playwright-core";
import { launchBrowser, login, screenshot } from "./browser";
import { heraldCli } from "./page-helpers";

function herald(...args: string[]) {
  const r = heraldCli(inject("dataDir"), ...args);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
}

describe("account ended while its page is open", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => browser?.close());

  it("accounts disable: the open page shows the reason, then the login page shows it", async () => {
    herald("accounts", "add", "vera@example.test", "--password", "Vera-pass-123");
    const context = await browser.newContext();
    const page = await login(context, inject("baseUrl"), { address: "vera@example.test", password: "Vera-pass-123" });
    try {
      await expect.poll(() => page.getByTestId("connection-status").getAttribute("data-connection"), { timeout: 20_000 }).toBe("online");
      herald("accounts", "disable", "vera@example.test");
      const disabledAt = Date.now();
      await expect.poll(() => page.getByTestId("connection-status").textContent(), { timeout: 5000, interval: 100 }).toContain("Your account was disabled");
      expect(Date.now() - disabledAt).toBeLessThanOrEqual(5000);
      await page.waitForURL(/\/login\?ended=disabled/, { timeout: 10_000 });
      await expect.poll(() => page.getByTestId("session-ended").textContent()).toContain("Your account was disabled; ask your operator");
    } catch (e) {
      await screenshot(page, "account-revoked-disable");
      throw e;
    } finally {
      await context.close();
    }
  });

  it("accounts passwd: the open page goes to the login page with the reason; the new password signs in", async () => {
    herald("accounts", "add", "fay@example.test", "--password", "Fay-pass-1234");
    const context = await browser.newContext();
    const page = await login(context, inject("baseUrl"), { address: "fay@example.test", password: "Fay-pass-1234" });
    try {
      await expect.poll(() => page.getByTestId("home-address").textContent()).toBe("fay@example.test");
      herald("accounts", "passwd", "fay@example.test", "--password", "Fay-newpass-5678");
      await page.waitForURL(/\/login\?ended=password-changed/, { timeout: 10_000 });
      await expect.poll(() => page.getByTestId("session-ended").textContent()).toContain("Your password was changed");
      await page.reload();
      await expect.poll(() => page.getByTestId("session-ended").textContent()).toContain("Your password was changed");
      const again = await login(context, inject("baseUrl"), { address: "fay@example.test", password: "Fay-newpass-5678" });
      await expect.poll(() => again.getByTestId("home-address").textContent()).toBe("fay@example.test");
    } catch (e) {
      await screenshot(page, "account-revoked-passwd");
      throw e;
    } finally {
      await context.close();
    }
  });
});
