import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext } from "playwright-core";
import { launchBrowser, login, screenshot } from "./browser";

const baseUrl = inject("baseUrl");
const users = inject("users");

describe("portal login", () => {
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") {
      for (const p of context.pages()) await screenshot(p, `failure-${ctx.task.name.replace(/\W+/g, "-")}`).catch(() => undefined);
    }
    await context?.close();
  });

  it("a seeded user logs in and sees the home page with their address", async () => {
    context = await browser.newContext();
    const page = await login(context, baseUrl, users.alice);
    expect(new URL(page.url()).pathname).toBe("/");
    await expect.poll(() => page.getByTestId("home-address").textContent()).toBe("alice@example.test");
    expect(await page.getByRole("region", { name: "Buddy list" }).isVisible()).toBe(true);
  });

  it("the login page loads the buddy list's JavaScript while the form is filled in: after Sign in only small page chunks follow", async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    const scripts: Array<{ url: string; bytes: number; afterSignIn: boolean }> = [];
    let signedIn = false;
    page.on("response", (r) => {
      if (r.request().resourceType() !== "script") return;
      const afterSignIn = signedIn;
      void r.body().then((b) => scripts.push({ url: r.url(), bytes: b.length, afterSignIn }), () => undefined);
    });
    await page.goto(`${baseUrl}/login`, { waitUntil: "networkidle" });
    const beforeBytes = () => scripts.filter((s) => !s.afterSignIn).reduce((n, s) => n + s.bytes, 0);
    const onLoginPage = beforeBytes();
    await page.getByLabel("SIP address").fill(users.carol.address);
    await page.getByLabel("Password").fill(users.carol.password);
    signedIn = true;
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => u.pathname === "/");
    await expect.poll(() => page.locator('[data-connection="online"]').count(), { timeout: 15_000 }).toBe(1);
    const after = scripts.filter((s) => s.afterSignIn);
    // JsSIP, the XML parser and the list (hundreds of KB) came with the login page, not after the click
    expect(onLoginPage).toBeGreaterThan(500_000);
    expect(after.reduce((n, s) => n + s.bytes, 0), JSON.stringify(after)).toBeLessThan(100_000);
  });

  it("serves the portal's icon from public/: /favicon.ico and the SVG the pages link to", async () => {
    const ico = await fetch(`${baseUrl}/favicon.ico`);
    expect(ico.status).toBe(200);
    expect(Buffer.from(await ico.arrayBuffer()).subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 0])); // ICO header
    const html = await (await fetch(`${baseUrl}/login`)).text();
    expect(html).toMatch(/<link rel="icon" href="\/icon\.svg"/);
    const svg = await fetch(`${baseUrl}/icon.svg`);
    expect(svg.status).toBe(200);
    expect(svg.headers.get("content-type")).toContain("image/svg+xml");
  });

  it("a wrong password shows an inline error and stays on the login page", async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${baseUrl}/login`);
    await page.getByLabel("SIP address").fill(users.bob.address);
    await page.getByLabel("Password").fill("not-the-password-1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByTestId("login-error").textContent()).toBe("Wrong SIP address or password.");
    expect(new URL(page.url()).pathname).toBe("/login");
  });

  it("an unauthenticated visit redirects to login and comes back after login", async () => {
    context = await browser.newContext();
    const page = await login(context, baseUrl, users.bob, "/me");
    expect(new URL(page.url()).pathname).toBe("/me");
  });

  it("a non-admin gets the 403 page on an admin route; an admin gets the page", async () => {
    context = await browser.newContext();
    const page = await login(context, baseUrl, users.carol);
    const res = await page.goto(`${baseUrl}/admin`);
    expect(res?.status()).toBe(403);
    expect(await page.getByRole("heading", { name: /403/ }).isVisible()).toBe(true);
    const adminContext = await browser.newContext();
    try {
      const adminPage = await login(adminContext, baseUrl, users.admin, "/admin");
      expect(await adminPage.getByRole("heading", { name: "Accounts" }).isVisible()).toBe(true);
      expect(await adminPage.getByRole("rowheader", { name: "alice@example.test" }).isVisible()).toBe(true);
    } finally {
      await adminContext.close();
    }
  });

  it("logout ends the session", async () => {
    context = await browser.newContext();
    const page = await login(context, baseUrl, users.alice);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login/);
    await page.goto(`${baseUrl}/`);
    await page.waitForURL(/\/login\?callbackUrl=%2F/);
    expect(new URL(page.url()).pathname).toBe("/login");
  });
});
