/** An account added with the operator CLI (against the running instance's database) can log in. */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser } from "playwright-core";
import { launchBrowser, login } from "./browser";

const ROOT = path.resolve(import.meta.dirname, "..", "..");

describe("CLI-created account", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => browser?.close());

  it("logs in in a real browser", async () => {
    const dataDir = inject("dataDir");
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "lib/cli/main.ts"), "accounts", "add", "dora@example.test", "--password", "Explorer-123", "--name", "Dora"],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: `file:${path.join(dataDir, "herald.db")}`, HERALD_DATA_DIR: dataDir }, encoding: "utf8" },
    );
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
