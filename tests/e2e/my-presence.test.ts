/**
 * My Presence without live SIP: offline status, icon upload/removal and rejection of a
 * non-image, default policy, status/note with recent combinations. Each change is checked after
 * a reload (XCAP). Runs as the admin account so alice/bob/carol stay untouched.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, login, screenshot } from "./browser";
import { tinyPng } from "./page-helpers";

const baseUrl = inject("baseUrl");
const users = inject("users");

describe("My Presence", () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    browser = await launchBrowser();
    context = await browser.newContext();
    page = await login(context, baseUrl, users.admin);
    await page.getByRole("link", { name: "My Presence" }).click();
    await page.waitForURL(/\/me$/);
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") await screenshot(page, `failure-${ctx.task.name.replace(/\W+/g, "-")}`).catch(() => undefined);
  });

  it("saves and clears the offline status", async () => {
    expect(await page.getByRole("heading", { level: 1, name: "My Presence" }).isVisible()).toBe(true);
    await page.getByLabel("Offline note").fill("Back on Monday");
    await page.getByRole("button", { name: "Save offline status" }).click();
    await expect.poll(() => page.getByTestId("offline-status-message").textContent()).toBe("Offline status saved.");
    await page.reload();
    await expect.poll(() => page.getByLabel("Offline note").inputValue()).toBe("Back on Monday");
    expect(await page.getByTestId("offline-status").getAttribute("data-set")).toBe("true");

    await page.getByRole("button", { name: "Clear offline status" }).click();
    await expect.poll(() => page.getByTestId("offline-status-message").textContent()).toBe("Offline status cleared.");
    await page.reload();
    await expect.poll(() => page.getByTestId("offline-status").getAttribute("data-set")).toBe("false");
    expect(await page.getByLabel("Offline note").inputValue()).toBe("");
  });

  it("uploads a picture, shows it, keeps it after a reload and removes it", async () => {
    const preview = page.getByTestId("icon-preview");
    expect(await preview.getAttribute("data-has-icon")).toBe("false");
    await page.getByLabel("Picture", { exact: true }).setInputFiles({ name: "me.png", mimeType: "image/png", buffer: tinyPng() });
    await page.getByRole("button", { name: "Upload picture" }).click();
    await expect.poll(() => page.getByTestId("icon-status").textContent()).toBe("Picture saved. Your contacts see it with your status.");
    expect(await preview.getAttribute("data-has-icon")).toBe("true");
    expect(await preview.getByRole("img").getAttribute("src")).toMatch(/^data:image\/png;base64,/);

    await page.reload();
    await expect.poll(() => page.getByTestId("icon-preview").getAttribute("data-has-icon")).toBe("true");
    // the page publishes the icon URL hash-tagged with the picture's SHA-1 (Blink's form)
    const src = await page.getByTestId("icon-preview").getByRole("img").getAttribute("src");
    expect(src).toMatch(/^data:image\/png;base64,/);

    await page.getByRole("button", { name: "Remove picture" }).click();
    await expect.poll(() => page.getByTestId("icon-status").textContent()).toBe("Picture removed.");
    await page.reload();
    await expect.poll(() => page.getByTestId("icon-preview").getAttribute("data-has-icon")).toBe("false");
  });

  it("rejects a file that is not a picture", async () => {
    await page.getByLabel("Picture", { exact: true }).setInputFiles({ name: "notes.png", mimeType: "image/png", buffer: Buffer.from("this is plain text, not a PNG") });
    await page.getByRole("button", { name: "Upload picture" }).click();
    await expect.poll(() => page.getByTestId("icon-status").textContent()).toBe("Only PNG, JPEG and GIF pictures are accepted.");
    expect(await page.getByTestId("icon-status").getAttribute("role")).toBe("alert");
    expect(await page.getByTestId("icon-preview").getAttribute("data-has-icon")).toBe("false");
  });

  it("sets the default policy for unknown watchers", async () => {
    const policy = page.getByRole("group", { name: /When someone not in my contacts/ });
    expect(await policy.getByRole("radio", { name: "Ask me" }).isChecked()).toBe(true);
    await policy.getByRole("radio", { name: "Polite block" }).check();
    await expect.poll(() => page.getByTestId("default-policy-message").textContent()).toBe("Saved: Polite block.");
    await page.reload();
    await expect.poll(() => page.getByRole("radio", { name: "Polite block" }).isChecked()).toBe(true);
    await page.getByRole("radio", { name: "Ask me" }).check();
    await expect.poll(() => page.getByTestId("default-policy-message").textContent()).toBe("Saved: Ask me.");
  });

  it("publishes a status and note, and offers them again under Recent", async () => {
    const picker = page.getByTestId("status-picker");
    expect(await page.getByRole("combobox", { name: "Status" }).count()).toBe(1);
    await picker.selectOption("busy");
    await page.getByLabel("Note", { exact: true }).fill("In a meeting");
    await page.getByRole("button", { name: "Publish" }).click();
    await expect.poll(() => page.getByTestId("publish-status").textContent()).toMatch(/^(Published: Busy — In a meeting\.|Saved\. It is published as soon as the connection is back\.)$/);
    await expect.poll(() => page.getByTestId("my-current-status").textContent()).toContain("Busy");
    const recent = page.getByTestId("recent-statuses");
    await expect.poll(() => recent.getByRole("button", { name: "Busy — In a meeting" }).count()).toBe(1);

    await picker.selectOption("available");
    await page.getByLabel("Note", { exact: true }).fill("");
    await page.getByRole("button", { name: "Publish" }).click();
    await expect.poll(() => page.getByTestId("my-current-status").textContent()).toContain("Available");
    await recent.getByRole("button", { name: "Busy — In a meeting" }).click();
    await expect.poll(() => page.getByTestId("my-current-status").textContent()).toContain("Busy");
    expect(await picker.inputValue()).toBe("busy");
    expect(await page.getByLabel("Note", { exact: true }).inputValue()).toBe("In a meeting");

    // kept for this tab across a reload (what it publishes when it connects)
    await page.reload();
    await expect.poll(() => page.getByTestId("status-picker").inputValue()).toBe("busy");
    await page.getByTestId("status-picker").selectOption("available");
    await page.getByLabel("Note", { exact: true }).fill("");
    await page.getByRole("button", { name: "Publish" }).click();
    await expect.poll(() => page.getByTestId("my-current-status").textContent()).toContain("Available");
  });
});
