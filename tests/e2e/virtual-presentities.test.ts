/**
 * Virtual presentities and permanent status (ISSUE-16 items 3 and 5) in Chromium against
 * `herald start`:
 * - the console adds one, sets its presence, edits who may watch it and deletes it; axe clean;
 * - acceptance: an update through the API reaches a watcher's open buddy list within 1 s (each
 *   time measured from the moment the request is sent until the row shows it, and printed);
 * - the operator sets a user's permanent status on the account page, the user sees it on My
 *   Presence and clears it.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, login, screenshot } from "./browser";
import { describeViolations, expectConsoleScreensClean, heraldCli, seriousAxeViolations } from "./page-helpers";
import { addContactViaDialog, online } from "./flow-steps";

const baseUrl = inject("baseUrl");
const users = inject("users");
const dataDir = inject("dataDir");
/** The acceptance bound of ISSUE-16: an API update on the watcher's open list within 1 s. */
const ACCEPTANCE_MS = 1000;

const cli = (...args: string[]) => heraldCli(dataDir, ...args);

describe("virtual presentities and permanent status", () => {
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let token: string;
  const contexts: BrowserContext[] = [];

  const api = (method: string, p: string, body?: unknown) =>
    fetch(`${baseUrl}/api/v1${p}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const outcome = (id: string, text: string) => expect.poll(() => page.getByTestId(id).textContent(), { timeout: 30_000 }).toBe(text);

  /** A new user made through the API, signed in on the buddy list in a context of their own. */
  async function newUser(name: string): Promise<{ address: string; page: Page }> {
    const address = `${name}@example.test`;
    const password = `${name[0].toUpperCase()}${name.slice(1)}-pass1`;
    expect((await api("POST", "/accounts", { address, password })).status).toBe(201);
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(ctx);
    return { address, page: await login(ctx, baseUrl, { address, password }) };
  }

  beforeAll(async () => {
    const made = cli("tokens", "create", "--name", "e2e-presentities");
    expect(made.status, made.stderr).toBe(0);
    token = made.stdout.trim();
    browser = await launchBrowser();
    admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await login(admin, baseUrl, users.admin, "/admin/presentities");
  });
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await admin?.close();
    await browser?.close();
  });

  it("console: add one with its presence, set it, change who may watch, delete it", async () => {
    // the API first: the console's actions must still recognise the service's errors
    expect((await api("GET", "/presentities")).status).toBe(200);
    expect((await api("DELETE", "/presentities/nobody@example.test")).status).toBe(404);
    await page.goto(`${baseUrl}/admin/presentities`);
    const form = page.getByRole("form", { name: "Add virtual presentity" });
    await form.getByLabel("SIP address").fill("news@example.test");
    await form.getByLabel("Status").selectOption("busy");
    await form.getByLabel("Note").fill("Breaking news");
    await form.getByRole("button", { name: "Add virtual presentity" }).click();
    await outcome("create-presentity-status", "news@example.test added.");
    const row = page.getByTestId("presentity-news@example.test");
    await expect.poll(() => row.textContent(), { timeout: 30_000 }).toBe("news@example.testBusyBreaking newsusers of example.test");
    await screenshot(page, "admin-presentities");

    await row.getByRole("link", { name: "news@example.test" }).click();
    await page.waitForURL(/\/admin\/presentities\/news%40example\.test$/);
    const presence = page.getByRole("form", { name: "Set presence" });
    await presence.getByLabel("Status").selectOption("away");
    await presence.getByLabel("Note").fill("Quiet day");
    await presence.getByRole("button", { name: "Set presence" }).click();
    await outcome("presentity-status", "Presence set: Away, “Quiet day”.");
    const watchers = page.getByRole("form", { name: "Who may watch" });
    await watchers.getByLabel("Every user of these domains").fill("example.test");
    await watchers.getByLabel("And these users (user@domain)").fill("someone@elsewhere.test");
    await watchers.getByRole("button", { name: "Save watchers" }).click();
    await outcome("presentity-status", "Watchers saved.");
    await expect.poll(() => page.getByTestId("presentity-summary").textContent(), { timeout: 30_000 }).toBe("Away · Quiet day · watched by users of example.test, someone@elsewhere.test");
    // the API sees what the console did
    expect(await (await api("GET", "/presentities/news@example.test")).json()).toMatchObject({ availability: "away", note: "Quiet day", watchers: { domains: ["example.test"], addresses: ["someone@elsewhere.test"] } });
    // a malformed watcher is refused with a message, nothing changes
    await watchers.getByLabel("And these users (user@domain)").fill("nobody");
    await watchers.getByRole("button", { name: "Save watchers" }).click();
    await expect.poll(() => page.getByTestId("presentity-status").textContent(), { timeout: 30_000 }).toMatch(/malformed SIP address "nobody"/);
    const violations = await seriousAxeViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);
    await screenshot(page, "admin-presentity");

    await page.getByRole("button", { name: "Delete virtual presentity" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete news@example.test?" });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await dialog.getByRole("button", { name: "Delete" }).click();
    await page.waitForURL(/\/admin\/presentities\?deleted=/);
    await expect.poll(() => page.getByRole("status").first().textContent()).toBe("news@example.test deleted.");
    expect((await api("GET", "/presentities/news@example.test")).status).toBe(404);
    // the service's own errors are problems in the API too (the console used it first in this process)
    const r = await api("PATCH", "/presentities/news@example.test", { watchers: { domains: [], addresses: [] } });
    expect([r.status, ((await r.json()) as { detail: string }).detail]).toEqual([404, "no virtual presentity news@example.test"]);
  });

  it(`acceptance: an update through the API reaches a watcher's open buddy list within ${ACCEPTANCE_MS} ms`, { timeout: 120_000 }, async () => {
    expect((await api("PUT", "/presentities/weather@example.test/presence", { availability: "available", note: "Sunny" })).status).toBe(201);
    const erin = await newUser("vpwatcher");
    await online(erin.page);
    await addContactViaDialog(erin.page, "weather@example.test", "Weather");
    const row = erin.page.getByTestId("contact-sip:weather@example.test");
    await expect.poll(() => row.getAttribute("data-availability"), { timeout: 15_000 }).toBe("available");
    await expect.poll(() => row.getByTestId("contact-note").textContent(), { timeout: 15_000 }).toBe("Sunny");
    const times: number[] = [];
    for (const [i, availability] of (["busy", "away", "extended-away"] as const).entries()) {
      // past the server's per-presentity NOTIFY interval (SIP_NOTIFY_INTERVAL_MS, 1 s): a fresh change
      await new Promise((r) => setTimeout(r, 1200));
      const note = `Update ${i + 1}`;
      const started = Date.now();
      const put = api("PUT", "/presentities/weather@example.test/presence", { availability, note });
      // the condition, polled in the page every 10 ms (bounded; the bound is asserted below)
      const shown = erin.page.waitForFunction(
        ([note, availability]) => {
          const r = document.querySelector('[data-testid="contact-sip:weather@example.test"]');
          return r?.getAttribute("data-availability") === availability && r.querySelector('[data-testid="contact-note"]')?.textContent === note;
        },
        [note, availability] as const,
        { timeout: ACCEPTANCE_MS + 4000, polling: 10 },
      );
      expect((await put).status).toBe(200);
      await shown;
      times.push(Date.now() - started);
    }
    await screenshot(erin.page, "buddy-list-virtual-presentity");
    process.stdout.write(`${JSON.stringify({ bench: "virtual-presentity-to-buddy-list", ms: times })}\n`);
    for (const ms of times) expect(ms).toBeLessThanOrEqual(ACCEPTANCE_MS);
  });

  it("permanent status: the operator sets it, the user sees it on My Presence and clears it", async () => {
    const frank = await newUser("vpholder");
    await page.goto(`${baseUrl}/admin/accounts/${encodeURIComponent(frank.address)}`);
    await page.getByLabel("Permanent status note").fill("On leave until 3 January");
    await page.getByRole("button", { name: "Set permanent status" }).click();
    await outcome("permanent-status-outcome", "Permanent status set: On leave until 3 January");

    await frank.page.goto(`${baseUrl}/me`);
    await expect.poll(() => frank.page.getByTestId("permanent-status-text").textContent(), { timeout: 15_000 }).toBe("On leave until 3 January");
    const violations = await seriousAxeViolations(frank.page);
    expect(violations, describeViolations(violations)).toEqual([]);
    await screenshot(frank.page, "my-presence-permanent-status");
    await frank.page.getByRole("button", { name: "Clear permanent status" }).click();
    await expect.poll(() => frank.page.getByTestId("permanent-status-outcome").textContent(), { timeout: 15_000 }).toBe("Permanent status cleared.");
    await frank.page.reload();
    await expect.poll(() => frank.page.getByTestId("permanent-status").count()).toBe(0);

    await page.reload();
    await expect.poll(() => page.getByLabel("Permanent status note").inputValue()).toBe("");
    const audit = await page.goto(`${baseUrl}/admin/audit?action=account.permanent-status&target=${encodeURIComponent(frank.address)}`);
    expect(audit?.status()).toBe(200);
    await expect.poll(() => page.getByTestId("audit-row").count()).toBe(2);
  });

  it("a user who is not an operator gets 403 on the presentity screens", async () => {
    const ctx = await browser.newContext();
    contexts.push(ctx);
    const p = await login(ctx, baseUrl, users.bob);
    for (const s of ["/admin/presentities", `/admin/presentities/${encodeURIComponent("weather@example.test")}`]) {
      expect((await p.goto(`${baseUrl}${s}`))?.status(), s).toBe(403);
    }
  });

  it("the presentity screens are axe clean at 390 and 1280 px, light and dark", { timeout: 120_000 }, async () => {
    const screens = ["/admin/presentities", `/admin/presentities/${encodeURIComponent("weather@example.test")}`, `/admin/accounts/${encodeURIComponent(users.alice.address)}`];
    await expectConsoleScreensClean(browser, await admin.storageState(), baseUrl, screens);
  });
});
