/**
 * The buddy list people would choose over Gmail's (issue 15), at 1280 and at 390 px: names in
 * every script without hydration errors, compact rows with an actions menu, one Tab stop with
 * arrow keys, your own status on top with "clear after", title/favicon badge and desktop
 * notifications, display name, several groups, show-offline and sort remembered, last seen and
 * greyed pictures, dark mode, friendly device names, the note counter, first-run guidance and the
 * login form. Two accounts of its own (zoe and yuki), so the other e2e files keep theirs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, login, screenshot } from "./browser";
import { describeViolations, heraldCli, seriousAxeViolations, tinyPng } from "./page-helpers";
import { addContactViaDialog, allowRequest, online, screenshotFailure } from "./flow-steps";

const baseUrl = inject("baseUrl");
const ZOE = { address: "zoe@example.test", password: "Zoe-Password-123", name: "Zoë 👩🏽‍💻 Ng" };
const YUKI = { address: "yuki@example.test", password: "Yuki-Password-123", name: "山田 由紀" };
const WIDE = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

function addAccount(u: { address: string; password: string; name: string }) {
  const r = heraldCli(inject("dataDir"), "accounts", "add", u.address, "--password", u.password, "--name", u.name);
  if (r.status !== 0) throw new Error(`accounts add ${u.address} failed: ${r.stderr}`);
}

/** Console errors and uncaught exceptions of a page (hydration mismatches among them). */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return errors;
}

const hydrationErrors = (errors: string[]) => errors.filter((e) => /#418|#423|#425|hydrat/i.test(e));

/** Records desktop notifications instead of showing them; permission "default" until requested. */
function notificationStub(initial: "default" | "granted") {
  return `(() => {
    const shown = [];
    const asks = [];
    let permission = ${JSON.stringify(initial)};
    class FakeNotification {
      static get permission() { return permission; }
      static async requestPermission() { asks.push(navigator.userActivation ? navigator.userActivation.isActive : null); permission = "granted"; return permission; }
      constructor(title, opts) { shown.push({ title, body: (opts && opts.body) || "" }); }
      close() {}
    }
    window.Notification = FakeNotification;
    window.__notifications = shown;
    window.__permissionAsks = asks;
  })();`;
}

const notifications = (page: Page) => page.evaluate(() => (window as unknown as { __notifications: { title: string; body: string }[] }).__notifications);

function row(page: Page, uri: string) {
  return page.getByTestId(`contact-${uri}`);
}

async function rowAction(page: Page, uri: string, item: string) {
  await row(page, uri).getByRole("button", { name: /^Actions for / }).click();
  await page.getByRole("menuitem", { name: item }).click();
}

const NAMED = [
  { address: "party@example.test", name: "🎉 Party Planner", initials: "PP" },
  { address: "taro@example.test", name: "山田太郎", initials: "山" },
  { address: "ali@example.test", name: "محمد علي", initials: "مع" },
  { address: "dave.w@example.test", name: "Dave (work)", initials: "DW" },
];

async function axeClean(page: Page, shot: string) {
  const violations = await seriousAxeViolations(page);
  expect(violations, describeViolations(violations)).toEqual([]);
  await screenshot(page, shot);
}

describe("buddy list UX (issue 15)", () => {
  let browser: Browser;
  let zoeCtx: BrowserContext;
  let yukiCtx: BrowserContext;
  let zoe: Page;
  let zoeErrors: string[];

  beforeAll(async () => {
    addAccount(ZOE);
    addAccount(YUKI);
    browser = await launchBrowser();
    zoeCtx = await browser.newContext({ viewport: WIDE });
    await zoeCtx.addInitScript(notificationStub("granted"));
    yukiCtx = await browser.newContext({ viewport: WIDE });
  });
  afterAll(async () => {
    await zoeCtx?.close();
    await yukiCtx?.close();
    await browser?.close();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") await screenshotFailure(ctx.task.name, { zoe: zoeCtx, yuki: yukiCtx }, "ux-");
  });

  it("login: the address field has focus, an empty form is refused in the page and never posted", async () => {
    for (const viewport of [WIDE, PHONE]) {
      const ctx = await browser.newContext({ viewport });
      const page = await ctx.newPage();
      const posts: string[] = [];
      page.on("request", (r) => {
        if (r.method() === "POST" && r.url().includes("/api/auth/callback")) posts.push(r.url());
      });
      await page.goto(`${baseUrl}/login`);
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("address");
      expect(await page.title()).toBe("Sign in — Herald");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => page.getByTestId("address-error").textContent()).toContain("Enter your SIP address");
      expect(await page.getByLabel("SIP address").getAttribute("aria-invalid")).toBe("true");
      await page.getByLabel("SIP address").fill(ZOE.address);
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => page.getByTestId("password-error").textContent()).toBe("Enter your password.");
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("password");
      expect(posts).toEqual([]);
      await axeClean(page, `ux-login-${viewport.width}`);
      await ctx.close();
    }
  });

  it("first run: an empty list explains how to add a contact and what a request is", async () => {
    zoe = await login(zoeCtx, baseUrl, ZOE);
    zoeErrors = collectErrors(zoe);
    await online(zoe);
    const guide = zoe.getByTestId("first-run");
    await expect.poll(() => guide.textContent()).toContain("Add your first contact");
    expect(await guide.textContent()).toContain("contact request");
    expect(await zoe.getByText("No contacts in this group").count()).toBe(0);
    expect(await zoe.title()).toBe("Buddy list — Herald");
    await zoe.setViewportSize(PHONE);
    expect(await guide.isVisible()).toBe(true);
    await zoe.setViewportSize(WIDE);
  });

  it("names in every script: grapheme initials without punctuation, a colour per contact, no hydration error", async () => {
    for (const c of NAMED) await addContactViaDialog(zoe, c.address, c.name);
    for (const viewport of [WIDE, PHONE]) {
      await zoe.setViewportSize(viewport);
      zoeErrors.length = 0;
      await zoe.reload();
      await online(zoe);
      for (const c of NAMED) {
        const avatar = row(zoe, `sip:${c.address}`).getByRole("img", { name: `${c.name} (no picture)` });
        await expect.poll(() => avatar.textContent()).toBe(c.initials);
      }
      expect(hydrationErrors(zoeErrors), zoeErrors.join("\n")).toEqual([]);
      // the signed-in user's own name (emoji inside) in the status bar is whole too
      expect(await zoe.getByTestId("my-status-bar").getByRole("img", { name: `${ZOE.name} (no picture)` }).textContent()).toBe("ZN");
    }
    await zoe.setViewportSize(WIDE);
    const classes = await Promise.all(NAMED.map((c) => row(zoe, `sip:${c.address}`).getByRole("img").first().getAttribute("class")));
    const colours = new Set(classes.map((cl) => /bg-(\w+)-200/.exec(cl ?? "")?.[1]));
    expect(colours.size).toBeGreaterThan(1);
    // stable: the same colour after a reload
    await zoe.reload();
    expect(await row(zoe, `sip:${NAMED[0]!.address}`).getByRole("img").first().getAttribute("class")).toBe(classes[0]);
  });

  it("compact rows: name and status readable next to one actions menu from 320 px up, no sideways scrolling", async () => {
    for (const width of [1280, 390, 320]) {
      await zoe.setViewportSize({ width, height: 844 });
      const rows = await zoe.evaluate(() =>
        [...document.querySelectorAll('li[data-testid^="contact-sip:"]')].map((li) => {
          const box = (sel: string) => li.querySelector(sel)!.getBoundingClientRect();
          const nameEl = li.querySelector('[data-testid="contact-name"]')!;
          const name = nameEl.getBoundingClientRect();
          const badge = box("[data-status]");
          const menu = box("[data-row-menu]");
          return { nameRight: name.right, nameWidth: name.width, nameCut: nameEl.scrollWidth > nameEl.clientWidth + 1, badgeRight: badge.right, badgeWidth: badge.width, menuLeft: menu.left, buttons: li.querySelectorAll("button").length };
        }),
      );
      expect(rows.length).toBe(NAMED.length);
      for (const r of rows) {
        expect(r.nameWidth).toBeGreaterThan(20);
        expect(r.nameCut).toBe(false);
        expect(r.badgeWidth).toBeGreaterThan(40);
        expect(r.nameRight).toBeLessThanOrEqual(r.menuLeft);
        expect(r.badgeRight).toBeLessThanOrEqual(r.menuLeft);
        expect(r.buttons).toBe(3); // the row (details), its Chat button and its actions menu
      }
      expect(await zoe.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
    }
    await zoe.setViewportSize(WIDE);
  });

  it("keyboard: the list is one Tab stop, arrows move, Enter opens details, Escape closes, / searches, the menu works by keys", async () => {
    for (const viewport of [WIDE, PHONE]) {
      await zoe.setViewportSize(viewport);
      expect(await zoe.locator("[data-row-key][tabindex='0']").count()).toBe(1);
      expect(await zoe.locator("[data-row-key][tabindex='-1']").count()).toBe(NAMED.length - 1);
      await zoe.locator("[data-row-key][tabindex='0']").focus();
      await zoe.keyboard.press("Home");
      const first = await zoe.evaluate(() => document.activeElement?.getAttribute("data-row-key"));
      await zoe.keyboard.press("ArrowDown");
      const second = await zoe.evaluate(() => document.activeElement?.getAttribute("data-row-key"));
      expect(second).not.toBe(first);
      // the focused row became the Tab stop
      expect(await zoe.locator("[data-row-key][tabindex='0']").getAttribute("data-row-key")).toBe(second);
      await zoe.keyboard.press("ArrowUp");
      expect(await zoe.evaluate(() => document.activeElement?.getAttribute("data-row-key"))).toBe(first);
      // Tab from a row leaves the list (next stop is not another row)
      await zoe.keyboard.press("Tab");
      expect(await zoe.evaluate(() => document.activeElement?.hasAttribute("data-row-key"))).toBe(false);
      await zoe.keyboard.press("Shift+Tab");
      expect(await zoe.evaluate(() => document.activeElement?.getAttribute("data-row-key"))).toBe(first);

      await zoe.keyboard.press("Enter");
      await expect.poll(() => zoe.getByTestId("presence-details").count()).toBe(1);
      await zoe.keyboard.press("Escape");
      await expect.poll(() => zoe.getByTestId("presence-details").count()).toBe(0);
      expect(await zoe.evaluate(() => document.activeElement?.getAttribute("data-row-key"))).toBe(first);

      // ArrowRight reaches the row's menu; Enter opens it on its first item; Escape returns to the button
      await zoe.keyboard.press("ArrowRight");
      expect(await zoe.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toMatch(/^Actions for /);
      await zoe.keyboard.press("Enter");
      await expect.poll(() => zoe.getByRole("menu").count()).toBe(1);
      expect(await zoe.evaluate(() => document.activeElement?.getAttribute("role"))).toBe("menuitem");
      await zoe.keyboard.press("ArrowDown");
      expect(await zoe.evaluate(() => document.activeElement?.textContent)).toMatch(/^Edit/);
      await zoe.keyboard.press("Escape");
      await expect.poll(() => zoe.getByRole("menu").count()).toBe(0);
      expect(await zoe.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toMatch(/^Actions for /);
      await zoe.keyboard.press("ArrowLeft");
      expect(await zoe.evaluate(() => document.activeElement?.getAttribute("data-row-key"))).toBe(first);

      await zoe.keyboard.press("/");
      expect(await zoe.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe("contact-search");
      await zoe.keyboard.type("taro");
      await expect.poll(() => zoe.locator("[data-row-key]").count()).toBe(1);
      await zoe.keyboard.press("Escape");
      await expect.poll(() => zoe.locator("[data-row-key]").count()).toBe(NAMED.length);
    }
    await zoe.setViewportSize(WIDE);
  });

  it("your own status on top: the menu, the inline note and clear-after publish at once, and My Presence agrees", async () => {
    for (const viewport of [WIDE, PHONE]) {
      await zoe.setViewportSize(viewport);
      await zoe.goto(`${baseUrl}/`);
      await online(zoe);
      const bar = zoe.getByTestId("my-status-bar");
      await bar.getByTestId("my-status-menu").click();
      await zoe.getByRole("menuitemradio", { name: "Busy" }).click();
      await expect.poll(() => bar.getByTestId("my-status-label").textContent()).toBe("Busy");
      await expect.poll(() => bar.getByTestId("my-status-outcome").textContent(), { timeout: 5000 }).toBe("Published: Busy.");
      await bar.getByLabel("Your note").fill(`Heads down ${viewport.width}`);
      await bar.getByLabel("Your note").press("Enter");
      await expect.poll(() => bar.getByTestId("my-status-outcome").textContent(), { timeout: 5000 }).toBe(`Published: note “Heads down ${viewport.width}”.`);
      await bar.getByLabel("Clear after").selectOption("1h");
      await expect.poll(() => bar.getByTestId("my-status-until").textContent()).toMatch(/^Clears at /);
      // the feedback line goes away by itself
      await expect.poll(() => bar.getByTestId("my-status-outcome").textContent(), { timeout: 10_000 }).toBe("");
      await axeClean(zoe, `ux-my-status-${viewport.width}`);

      await zoe.getByRole("link", { name: "My Presence" }).click();
      await zoe.waitForURL(/\/me$/);
      await expect.poll(() => zoe.getByTestId("status-picker").inputValue()).toBe("busy");
      await expect.poll(() => zoe.getByTestId("my-current-status").textContent()).toContain(`Heads down ${viewport.width}`);
      expect(await zoe.getByTestId("my-until").textContent()).toMatch(/Clears at/);
      // and back: a change on My Presence shows in the list's bar
      await zoe.getByTestId("status-picker").selectOption("away");
      await zoe.getByRole("button", { name: "Publish" }).click();
      await expect.poll(() => zoe.getByTestId("publish-status").textContent(), { timeout: 5000 }).toContain("Published: Away");
      await zoe.getByRole("link", { name: "Buddy list" }).click();
      await zoe.waitForURL((u) => u.pathname === "/");
      await expect.poll(() => zoe.getByTestId("my-status-label").textContent()).toBe("Away");
    }
    await zoe.setViewportSize(WIDE);
  }, 120_000);

  it("a timed status returns to Available by itself, also across a reload", async () => {
    const until = new Date(Date.now() + 15_000).toISOString();
    await zoe.evaluate((u) => window.localStorage.setItem("herald.myPresence", JSON.stringify({ status: "busy", note: "Back soon", until: u })), until);
    await zoe.reload();
    await online(zoe);
    await expect.poll(() => zoe.getByTestId("my-status-label").textContent()).toBe("Busy");
    await expect.poll(() => zoe.getByTestId("my-status-label").textContent(), { timeout: 30_000 }).toBe("Available");
    expect(await zoe.getByLabel("Your note").inputValue()).toBe("");
    // an expired one is not restored at all
    await zoe.evaluate(() => window.localStorage.setItem("herald.myPresence", JSON.stringify({ status: "busy", note: "Old", until: new Date(Date.now() - 1000).toISOString() })));
    await zoe.setViewportSize(PHONE);
    await zoe.reload();
    await online(zoe);
    await expect.poll(() => zoe.getByTestId("my-status-label").textContent()).toBe("Available");
    await zoe.setViewportSize(WIDE);
  }, 90_000);

  it("the note has a counter and a longer note is refused with a message, not cut", async () => {
    for (const viewport of [WIDE, PHONE]) {
      await zoe.setViewportSize(viewport);
      const note = zoe.getByTestId("my-status-bar").getByLabel("Your note");
      await note.fill("x".repeat(12));
      await expect.poll(() => zoe.getByTestId("my-status-bar").getByTestId("note-counter").textContent()).toBe("12/200");
      await note.fill("y".repeat(205));
      expect(await note.inputValue()).toHaveLength(205);
      await expect.poll(() => zoe.getByTestId("my-status-bar").getByTestId("note-counter").textContent()).toContain("205 characters");
      expect(await note.getAttribute("aria-invalid")).toBe("true");
      await note.press("Enter");
      expect(await zoe.getByTestId("my-status-outcome").textContent()).not.toContain("Published");
      await note.press("Escape");
    }
    await zoe.setViewportSize(WIDE);
  });

  it("several groups from the UI; show-offline and sort are remembered for the user", async () => {
    for (const g of ["Work", "Friends"]) {
      await zoe.getByRole("button", { name: "New group" }).click();
      await zoe.getByRole("dialog", { name: "New group" }).getByLabel("Group name").fill(g);
      await zoe.getByRole("dialog", { name: "New group" }).getByRole("button", { name: "Create group" }).click();
      await zoe.getByTestId("action-status").getByText(`Group ${g} created.`, { exact: true }).waitFor({ timeout: 10_000 });
    }
    await rowAction(zoe, "sip:taro@example.test", "Groups… of 山田太郎");
    const dlg = zoe.getByRole("dialog", { name: "Groups of 山田太郎" });
    await dlg.getByLabel("Work").check();
    await dlg.getByLabel("Friends").check();
    await dlg.getByRole("button", { name: "Save groups" }).click();
    await zoe.getByTestId("action-status").getByText("山田太郎 is in Work, Friends.", { exact: true }).waitFor({ timeout: 10_000 });
    // the feedback goes away by itself
    await expect.poll(() => zoe.getByTestId("action-status").textContent(), { timeout: 10_000 }).toBe("");
    for (const viewport of [WIDE, PHONE]) {
      await zoe.setViewportSize(viewport);
      await zoe.reload();
      await expect.poll(() => zoe.getByTestId("group-Work").getByTestId("contact-sip:taro@example.test").count()).toBe(1);
      expect(await zoe.getByTestId("group-Friends").getByTestId("contact-sip:taro@example.test").count()).toBe(1);
    }
    await zoe.setViewportSize(WIDE);

    // nobody here is online: hiding offline contacts empties the list, and it stays so after a reload
    await zoe.getByTestId("sort-order").selectOption("name");
    await zoe.getByTestId("show-offline").uncheck();
    await expect.poll(() => zoe.locator("[data-row-key]").count()).toBe(0);
    await zoe.reload();
    await expect.poll(() => zoe.getByTestId("show-offline").isChecked()).toBe(false);
    expect(await zoe.getByTestId("sort-order").inputValue()).toBe("name");
    expect(await zoe.locator("[data-row-key]").count()).toBe(0);
    await zoe.getByTestId("show-offline").check();
    const names = await zoe.getByTestId("group-Other contacts").getByTestId("contact-name").allTextContents();
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: "base" })));
  });

  it("display name: edited on My Presence, saved with the account, shown on the list", async () => {
    for (const [viewport, name] of [
      [PHONE, "Zoë Ng 🌿"],
      [WIDE, ZOE.name],
    ] as const) {
      await zoe.setViewportSize(viewport);
      await zoe.goto(`${baseUrl}/me`);
      await zoe.getByTestId("display-name").fill(name);
      await zoe.getByRole("button", { name: "Save name" }).click();
      await expect.poll(() => zoe.getByTestId("display-name-status").textContent(), { timeout: 10_000 }).toBe(`Your name is now ${name}.`);
      await zoe.goto(`${baseUrl}/`);
      await expect.poll(() => zoe.getByTestId("my-name").textContent()).toBe(name);
      await zoe.goto(`${baseUrl}/me`);
      expect(await zoe.getByTestId("display-name").inputValue()).toBe(name);
    }
  });

  it("requests: title and favicon badge, a desktop notification; came-online notification, last seen, greyed picture, friendly device name", async () => {
    await zoe.goto(`${baseUrl}/`);
    await online(zoe);
    // opt in to "came online"
    await zoe.getByTestId("notify-online").check();

    // yuki, with a picture, asks to see zoe
    let yuki = await login(yukiCtx, baseUrl, YUKI, "/me");
    await yuki.getByLabel("Picture", { exact: true }).setInputFiles({ name: "me.png", mimeType: "image/png", buffer: tinyPng() });
    await yuki.getByRole("button", { name: "Upload picture" }).click();
    await expect.poll(() => yuki.getByTestId("icon-status").textContent()).toContain("Picture saved");
    await yuki.goto(`${baseUrl}/`);
    await online(yuki);
    await addContactViaDialog(yuki, ZOE.address, "Zoë");

    await expect.poll(() => zoe.title(), { timeout: 10_000 }).toBe("(1) Buddy list — Herald");
    expect(decodeURIComponent((await zoe.locator("link#herald-badge-icon").getAttribute("href")) ?? "")).toContain(">1</text>");
    await expect.poll(async () => (await notifications(zoe)).map((n) => n.title)).toContain("New contact request");
    await zoe.setViewportSize(PHONE);
    await axeClean(zoe, "ux-request-390");
    await zoe.setViewportSize(WIDE);
    await allowRequest(zoe, `sip:${YUKI.address}`, "ux-request-1280");
    await expect.poll(() => zoe.title()).toBe("Buddy list — Herald");
    expect(await zoe.locator("link#herald-badge-icon").count()).toBe(0);
    // zoe now follows yuki, who added her with "let them see my status"
    const yukiRow = row(zoe, `sip:${YUKI.address}`);
    await expect.poll(() => yukiRow.getAttribute("data-availability"), { timeout: 15_000 }).toBe("available");

    // friendly device name in the details, no raw user agent or device id
    await yukiRow.locator("[data-row-key]").click();
    const details = zoe.getByTestId("presence-details");
    await expect.poll(() => details.getByTestId("presence-device").first().textContent()).toContain("Chrome on Linux");
    expect(await details.textContent()).not.toContain("Mozilla/5.0");
    expect(await details.textContent()).not.toContain("Device id");
    await yukiRow.locator("[data-row-key]").click();

    // yuki leaves: offline, picture kept but greyed, "Last seen"
    await expect.poll(() => yukiRow.getByRole("img", { name: /^Picture of / }).count(), { timeout: 10_000 }).toBe(1);
    await yuki.close({ runBeforeUnload: true });
    await expect.poll(() => yukiRow.getAttribute("data-availability"), { timeout: 10_000 }).toBe("offline");
    expect(await yukiRow.getByRole("img", { name: /^Picture of / }).getAttribute("data-dimmed")).toBe("true");
    await expect.poll(() => yukiRow.getByTestId("contact-seen").textContent(), { timeout: 40_000 }).toMatch(/^Last seen (just now|1 min ago)$/);
    for (const viewport of [WIDE, PHONE]) {
      await zoe.setViewportSize(viewport);
      expect(await yukiRow.getByTestId("contact-seen").isVisible()).toBe(true);
      await screenshot(zoe, `ux-last-seen-${viewport.width}`);
    }
    await zoe.setViewportSize(WIDE);

    // yuki comes back: zoe opted in, so she is told
    await zoe.evaluate(() => void ((window as unknown as { __notifications: unknown[] }).__notifications.length = 0));
    yuki = await yukiCtx.newPage();
    await yuki.goto(`${baseUrl}/`);
    await online(yuki);
    await expect.poll(() => yukiRow.getAttribute("data-availability"), { timeout: 15_000 }).toBe("available");
    await expect.poll(async () => (await notifications(zoe)).filter((n) => / is online$/.test(n.title)).length, { timeout: 5000 }).toBe(1);

    // sort by status puts online yuki first; by name she takes her place in the alphabet
    const others = zoe.getByTestId("group-Other contacts");
    await zoe.getByTestId("sort-order").selectOption("status");
    await expect.poll(async () => (await others.locator("li[data-availability]").first().getAttribute("data-testid")) ?? "").toBe(`contact-sip:${YUKI.address}`);
    await zoe.getByTestId("sort-order").selectOption("name");
    const names = await others.getByTestId("contact-name").allTextContents();
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: "base" })));
    expect(names[0]).not.toBe(await yukiRow.getByTestId("contact-name").textContent());
    expect(hydrationErrors(zoeErrors), zoeErrors.join("\n")).toEqual([]);
  }, 180_000);

  it("idle time: a contact idle past AUTO_AWAY_MINUTES shows away with \"Idle N min\" (RPID user-input), and available again on input", async () => {
    // yuki's other pages end first: one active device would outweigh the idle one
    for (const p of yukiCtx.pages()) await p.close({ runBeforeUnload: true });
    const yukiRow = row(zoe, `sip:${YUKI.address}`);
    await expect.poll(() => yukiRow.getAttribute("data-availability"), { timeout: 15_000 }).toBe("offline");
    // a fake clock on yuki's page only: its idle timer, not the test, decides when she is idle
    const yuki = await yukiCtx.newPage();
    await yuki.clock.install();
    await yuki.goto(`${baseUrl}/`);
    await online(yuki);
    await expect.poll(() => yukiRow.getAttribute("data-availability"), { timeout: 15_000 }).toBe("available");
    expect(await yukiRow.getByTestId("contact-seen").count()).toBe(0);
    // eleven minutes without input (the e2e server runs with the default AUTO_AWAY_MINUTES, 10)
    await yuki.clock.fastForward("11:00");
    await expect.poll(() => yukiRow.getAttribute("data-availability"), { timeout: 10_000 }).toBe("away");
    await expect.poll(() => yukiRow.getByTestId("contact-seen").textContent(), { timeout: 10_000 }).toMatch(/^Idle \d+ min$/);
    for (const viewport of [WIDE, PHONE]) {
      await zoe.setViewportSize(viewport);
      expect(await yukiRow.getByTestId("contact-seen").isVisible()).toBe(true);
      await screenshot(zoe, `ux-idle-${viewport.width}`);
    }
    await zoe.setViewportSize(WIDE);
    // input again: available, no idle time
    await yuki.mouse.move(20, 20);
    await yuki.mouse.move(40, 40);
    await expect.poll(() => yukiRow.getAttribute("data-availability"), { timeout: 10_000 }).toBe("available");
    expect(await yukiRow.getByTestId("contact-seen").count()).toBe(0);
    await yuki.close({ runBeforeUnload: true });
  }, 90_000);

  it("desktop notifications are asked for from a click, then offer the came-online option", async () => {
    const ctx = await browser.newContext({ viewport: PHONE });
    await ctx.addInitScript(notificationStub("default"));
    const page = await login(ctx, baseUrl, YUKI);
    await page.getByTestId("enable-notifications").click();
    await expect.poll(() => page.getByTestId("notify-online").isVisible()).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { __permissionAsks: (boolean | null)[] }).__permissionAsks)).toEqual([true]);
    await ctx.close();
  });

  it("dark mode follows the system: dark surfaces, axe clean at both widths on the list and My Presence", async () => {
    for (const colorScheme of ["dark", "light"] as const) {
      for (const viewport of [WIDE, PHONE]) {
        const ctx = await browser.newContext({ viewport, colorScheme });
        const page = await login(ctx, baseUrl, ZOE);
        await online(page);
        const dark = await page.evaluate(() => {
          const canvas = document.createElement("canvas").getContext("2d")!;
          canvas.fillStyle = getComputedStyle(document.body).backgroundColor;
          canvas.fillRect(0, 0, 1, 1);
          const [r, g, b] = canvas.getImageData(0, 0, 1, 1).data;
          return (0.2126 * r! + 0.7152 * g! + 0.0722 * b!) / 255 < 0.3;
        });
        expect(dark).toBe(colorScheme === "dark");
        await axeClean(page, `ux-buddy-list-${colorScheme}-${viewport.width}`);
        await page.getByRole("link", { name: "My Presence" }).click();
        await page.waitForURL(/\/me$/);
        await expect.poll(() => page.getByTestId("status-picker").isVisible()).toBe(true);
        await axeClean(page, `ux-my-presence-${colorScheme}-${viewport.width}`);
        await ctx.close();
      }
    }
  }, 240_000);

  it("the Admin tab is highlighted on the admin page", async () => {
    for (const viewport of [WIDE, PHONE]) {
      const ctx = await browser.newContext({ viewport });
      const page = await login(ctx, baseUrl, inject("users").admin, "/admin");
      await expect.poll(() => page.getByRole("link", { name: "Admin", exact: true }).getAttribute("aria-current")).toBe("page");
      expect(await page.getByRole("link", { name: "Buddy list" }).getAttribute("aria-current")).toBeNull();
      await ctx.close();
    }
  });
});
