/** An account added with the operator CLI (against the running instance's database) can log in. */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser } from "playwright-core";
import { launchBrowser, login } from "./browser";
import { heraldCli } from "./page-helpers";


describe("CLI-created account", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => browser?.close());

  it("logs in in a real browser", async () => {
    const r = heraldCli(inject("dataDir"), "accounts", "add", "dora@example.test", "--password", "Explorer-123", "--name", "Dora");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const context = await browser.newContext();
    try {
      const page = await login(context, inject("baseUrl"), { address: "dora@example.test", password: "Explorer-123" });
      await expect.poll(() => page.getByTestId("home-address").textContent()).toBe("dora@example.test");
    } finally {
      await context.close();
    }
  });
});
