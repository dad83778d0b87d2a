/**
 * The operator console (ISSUE-16 item 1) in Chromium against `herald start`: accounts (create with
 * a generated password shown once, search, name, role, disable/enable, password reset, delete),
 * domains (add, realm, disable), CSV import (dry run, then for real, per-row report) and the audit
 * log with filters; every screen axe clean at 390 and 1280 px, light and dark; a non-admin gets
 * 403. Also the provisioning API through the production build's route with a CLI-made token.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, login, screenshot } from "./browser";
import { describeViolations, expectConsoleScreensClean, heraldCli, seriousAxeViolations } from "./page-helpers";

const baseUrl = inject("baseUrl");
const users = inject("users");
const dataDir = inject("dataDir");

const cli = (...args: string[]) => heraldCli(dataDir, ...args);

describe("operator console", () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await login(context, baseUrl, users.admin, "/admin");
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
  });

  const status = (id: string) => page.getByTestId(id);
  /** An action's outcome line reads `text` (actions hash passwords with scrypt: slow on a busy machine). */
  const outcome = (id: string, text: string) => expect.poll(() => status(id).textContent(), { timeout: 30_000 }).toBe(text);

  it("accounts: add with a generated password, find it, rename, role, disable/enable, reset password, delete", async () => {
    await page.goto(`${baseUrl}/admin`);
    const form = page.getByRole("form", { name: "Add account" });
    await form.getByLabel("SIP address").fill("opsuser@example.test");
    await form.getByLabel("Display name").fill("Ops User");
    await form.getByRole("button", { name: "Add account" }).click();
    await outcome("create-account-status", "Account opsuser@example.test added.");
    const first = (await page.getByTestId("new-password").textContent()) ?? "";
    expect(first).toMatch(/^\S{12,}$/);

    // the generated password works: the new user signs in in another context
    const other = await browser.newContext();
    const userPage = await login(other, baseUrl, { address: "opsuser@example.test", password: first });
    await expect.poll(() => userPage.getByTestId("current-address").textContent()).toBe("opsuser@example.test");

    await page.getByRole("search", { name: "Accounts" }).getByLabel("Search by address or name").fill("ops user");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/query=ops\+user/);
    await expect.poll(() => page.getByTestId("account-count").textContent()).toMatch(/of 1 accounts matching/);
    await page.getByRole("link", { name: "opsuser@example.test" }).click();
    await page.waitForURL(/\/admin\/accounts\/opsuser%40example\.test$/);
    // the user's open buddy list registered and published over the bridge: the live view shows it
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.getByTestId("live-state").textContent();
        },
        { timeout: 30_000 },
      )
      .toMatch(/Registrations \(1\).*web page \(bridge\).*Publications \(1\)/);

    await page.getByLabel("Display name").fill("Operations User");
    await page.getByRole("button", { name: "Save name" }).click();
    await outcome("account-status", "Name changed to Operations User.");
    await page.getByLabel("Role").selectOption("admin");
    await page.getByRole("button", { name: "Save role" }).click();
    await outcome("account-status", "Role is now admin.");
    await expect.poll(() => page.getByTestId("account-summary").textContent(), { timeout: 30_000 }).toBe("Operations User · admin · ✓ active");

    await page.getByRole("button", { name: "Disable account" }).click();
    await outcome("account-status", "Account disabled; its sessions ended.");
    await expect.poll(() => page.getByTestId("account-summary").textContent(), { timeout: 30_000 }).toMatch(/✕ disabled/);
    // the user's open page is signed out (the next navigation goes to the login page, saying why)
    await userPage.reload();
    await userPage.waitForURL(/\/login/);
    await page.getByRole("button", { name: "Enable account" }).click();
    await outcome("account-status", "Account enabled.");

    await page.getByRole("button", { name: "Reset password" }).click();
    await outcome("account-status", "New password set; its sessions ended.");
    const second = (await page.getByTestId("new-password").textContent()) ?? "";
    expect(second).not.toBe(first);
    const again = await login(other, baseUrl, { address: "opsuser@example.test", password: second });
    await expect.poll(() => again.getByTestId("current-address").textContent()).toBe("opsuser@example.test");

    await page.getByRole("button", { name: "Delete account" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete opsuser@example.test?" });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await screenshot(page, "admin-account-delete");
    await dialog.getByRole("button", { name: "Delete" }).click();
    await page.waitForURL(/\/admin\?deleted=/);
    await expect.poll(() => page.getByRole("status").first().textContent()).toBe("Account opsuser@example.test deleted.");
    await again.reload();
    await again.waitForURL(/\/login/);
    await other.close();
  });

  it("an operator cannot disable, demote or delete their own account here", async () => {
    await page.goto(`${baseUrl}/admin/accounts/${encodeURIComponent(users.admin.address)}`);
    await page.getByRole("button", { name: "Disable account" }).click();
    await outcome("account-status", "You cannot disable your own account here.");
    await expect.poll(() => page.getByTestId("account-summary").textContent(), { timeout: 30_000 }).toMatch(/✓ active/);
  });

  it("domains: add one with a realm, change the realm, disable and enable it", async () => {
    await page.goto(`${baseUrl}/admin/domains`);
    const form = page.getByRole("form", { name: "Add domain" });
    await form.getByLabel("Domain", { exact: true }).fill("Branch.Example.Test");
    await form.getByLabel("Realm (blank: the domain)").fill("branch");
    await form.getByRole("button", { name: "Add domain" }).click();
    await outcome("domain-status", "Domain branch.example.test added.");
    const row = page.getByTestId("domain-branch.example.test");
    await row.getByLabel("Realm of branch.example.test").fill("branch.example.test");
    await row.getByRole("button", { name: "Save" }).click();
    await outcome("domain-status", "Realm of branch.example.test is now branch.example.test.");
    await row.getByRole("button", { name: "Disable branch.example.test" }).click();
    await expect.poll(() => row.textContent(), { timeout: 30_000 }).toMatch(/✕ disabled/);
    await row.getByRole("button", { name: "Enable branch.example.test" }).click();
    await expect.poll(() => row.textContent(), { timeout: 30_000 }).toMatch(/✓ enabled/);
    // example.test has accounts: its realm is shown, not editable
    await expect.poll(() => page.getByTestId("domain-example.test").getByRole("textbox").count()).toBe(0);
  });

  it("import: a dry run reports every row and changes nothing; the import creates the valid rows", async () => {
    const file = path.join(dataDir, "import.csv");
    writeFileSync(file, "address,password,displayName\nimp1@example.test,Import-pass1,Imported One\nimp2@example.test,weak,\nimp3@nowhere.test,Import-pass3,\n");
    await page.goto(`${baseUrl}/admin/import`);
    await page.getByLabel("CSV file", { exact: true }).setInputFiles(file);
    await page.getByRole("button", { name: "Import" }).click();
    await outcome("import-status", "Dry run: 1 of 3 rows would be created, 2 with errors. Nothing changed.");
    const report = page.getByTestId("import-report");
    await expect.poll(() => report.textContent()).toMatch(/imp1@example\.test✓ would be created/);
    await expect.poll(() => report.textContent()).toMatch(/imp2@example\.test✕ password is too short/);
    await expect.poll(() => report.textContent()).toMatch(/imp3@nowhere\.test✕ unknown domain nowhere\.test/);
    await screenshot(page, "admin-import-dry-run");
    const violations = await seriousAxeViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);

    await page.getByLabel("Dry run (check only, change nothing)").uncheck();
    await page.getByLabel("CSV file", { exact: true }).setInputFiles(file);
    await page.getByRole("button", { name: "Import" }).click();
    await outcome("import-status", "1 of 3 accounts created, 2 rows with errors skipped.");
    await page.goto(`${baseUrl}/admin?query=imp`);
    await expect.poll(() => page.getByTestId("account-imp1@example.test").textContent()).toMatch(/Imported One/);
  });

  it("audit log: the console's changes, filtered by who, action and target", async () => {
    await page.goto(`${baseUrl}/admin/audit?actor=${encodeURIComponent(`admin:${users.admin.address}`)}&target=opsuser`);
    const rows = page.getByTestId("audit-row");
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(7);
    const actions = await rows.locator("td:nth-child(3)").allTextContents();
    expect(actions.slice().reverse()).toEqual(["account.add", "account.name", "account.role", "account.disable", "account.enable", "account.passwd", "account.delete"]);
    await page.getByLabel("Action").selectOption("account.delete");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/action=account\.delete/);
    await expect.poll(() => rows.count()).toBe(1);
    await expect.poll(() => page.getByTestId("audit-count").textContent()).toBe("1 entry");
  });

  // 20 page loads with an axe scan and a screenshot each: more than the default minute on a busy machine
  it("every console screen is axe clean at 390 and 1280 px, light and dark", { timeout: 300_000 }, async () => {
    const screens = ["/admin", `/admin/accounts/${encodeURIComponent(users.alice.address)}`, "/admin/domains", "/admin/import", "/admin/audit"];
    await expectConsoleScreensClean(browser, await context.storageState(), baseUrl, screens);
  });

  it("a user who is not an operator gets 403 on every console screen", async () => {
    const ctx = await browser.newContext();
    try {
      const p = await login(ctx, baseUrl, users.bob);
      for (const s of ["/admin", "/admin/domains", "/admin/import", "/admin/audit"]) {
        const r = await p.goto(`${baseUrl}${s}`);
        expect(r?.status(), s).toBe(403);
      }
    } finally {
      await ctx.close();
    }
  });

  it("the provisioning API answers through the production build with a CLI-made token", async () => {
    const made = cli("tokens", "create", "--name", "e2e");
    expect(made.status).toBe(0);
    const token = made.stdout.trim();
    const r = await fetch(`${baseUrl}/api/v1/accounts?query=alice`, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ items: [{ address: users.alice.address }], total: 1 });
    const bad = await fetch(`${baseUrl}/api/v1/accounts`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{" });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const doc = await fetch(`${baseUrl}/api/v1/openapi.json`);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe("3.1.0");
  });
});
