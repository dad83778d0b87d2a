/**
 * Instant messages between two pages (issue 17), through the bridge and the embedded server:
 * carol opens a chat from a contact row, admin's page gets a docked window with an unread count
 * (row, window, title), typing shows on the other side, message states, history after a reload,
 * a message stored while admin is signed out arrives when he signs in, and once admin allows only
 * his contacts, carol's message is refused (Not sent, 403) and never reaches his history.
 * Delivery notifications (IMDN): the stored message turns Delivered on carol's page when admin's
 * page receives it; unread counts survive a reload (server-side read markers); a message to a
 * closed window gives a desktop notification that opens the conversation; a second tab of carol
 * shows what the first sent; the dock is axe clean and usable by keyboard at 390 and 1280 px,
 * light and dark.
 * carol and admin: the accounts the presence flows leave alone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, login, screenshot } from "./browser";
import { addContactViaDialog, online, screenshotFailure } from "./flow-steps";
import { describeViolations, seriousAxeViolations } from "./page-helpers";

const baseUrl = inject("baseUrl");
const users = inject("users");
const CAROL = "sip:carol@example.test";
const ADMIN = "sip:admin@example.test";

async function send(page: Page, peer: string, text: string) {
  const w = page.getByTestId(`chat-window-${peer}`);
  await w.getByTestId("chat-input").fill(text);
  await w.getByRole("button", { name: "Send" }).click();
}

/** Reload (the server's unread counts come with the page) and wait for SIP. */
async function reloadWithUnreadCounts(page: Page) {
  await page.reload();
  await online(page);
}

const lastOut = (page: Page, peer: string) => page.getByTestId(`chat-window-${peer}`).locator('[data-direction="out"]').last();
const texts = (page: Page, peer: string) => page.getByTestId(`chat-window-${peer}`).getByTestId("chat-text").allTextContents();

describe("instant messages between two pages", () => {
  let browser: Browser;
  let carolCtx: BrowserContext;
  let adminCtx: BrowserContext;
  let carol: Page;
  let admin: Page;

  beforeAll(async () => {
    browser = await launchBrowser();
    carolCtx = await browser.newContext();
    adminCtx = await browser.newContext();
    // admin allowed desktop notifications; the page's Notification records what it shows (and can be clicked)
    await adminCtx.addInitScript(() => {
      const shown: Array<{ title: string; body?: string; onclick: (() => void) | null }> = [];
      class RecordingNotification {
        static permission = "granted";
        static requestPermission = async () => "granted";
        onclick: (() => void) | null = null;
        constructor(
          readonly title: string,
          options?: { body?: string },
        ) {
          shown.push(Object.assign(this, { body: options?.body }));
        }
        close() {}
      }
      Object.assign(window, { Notification: RecordingNotification, __notifications: shown });
    });
  });
  afterAll(async () => {
    await carolCtx?.close();
    await adminCtx?.close();
    await browser?.close();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") await screenshotFailure(ctx.task.name, { carol: carolCtx, admin: adminCtx }, "chat-");
  });

  it("a conversation: chat from a row, unread counts on the row, the window and the title, typing, delivered", { timeout: 180_000 }, async () => {
    carol = await login(carolCtx, baseUrl, users.carol);
    admin = await login(adminCtx, baseUrl, users.admin);
    await online(carol);
    await online(admin);
    await addContactViaDialog(carol, "admin@example.test", "Operator");
    await addContactViaDialog(admin, "carol@example.test", "Carol");
    await carol.getByTestId(`contact-${ADMIN}`).getByTestId("open-chat").click();
    await send(carol, ADMIN, "Hello from Carol");
    await expect.poll(() => lastOut(carol, ADMIN).getAttribute("data-state"), { timeout: 10_000 }).toBe("delivered");

    // admin: a minimised window with the unread count, on the row and in the title
    const win = admin.getByTestId(`chat-window-${CAROL}`);
    await expect.poll(() => win.getByTestId("chat-unread").textContent(), { timeout: 10_000 }).toBe("1 unread");
    await expect.poll(() => admin.getByTestId(`contact-${CAROL}`).getByTestId("row-unread").textContent()).toBe("1 unread");
    await expect.poll(() => admin.title()).toBe("(1) Buddy list — Herald");
    await screenshot(admin, "chat-admin-unread");
    await win.getByRole("button", { name: /^carol/i }).click(); // expand: read
    await expect.poll(() => admin.title()).toBe("Buddy list — Herald");
    expect(await texts(admin, CAROL)).toEqual(["Hello from Carol"]);

    // typing shows on the other side, and goes with the message
    await win.getByTestId("chat-input").fill("Hi Car");
    await expect.poll(() => carol.getByTestId(`chat-window-${ADMIN}`).getByTestId("chat-typing").textContent(), { timeout: 10_000 }).toBe("Operator is typing…");
    await send(admin, CAROL, "Hi Carol");
    await expect.poll(() => texts(carol, ADMIN), { timeout: 10_000 }).toEqual(["Hello from Carol", "Hi Carol"]);
    await expect.poll(() => carol.getByTestId(`chat-window-${ADMIN}`).getByTestId("chat-typing").textContent()).toBe("");
    await screenshot(carol, "chat-carol-conversation");
  });

  it("history after a reload", { timeout: 120_000 }, async () => {
    await carol.reload();
    await online(carol);
    await carol.getByTestId(`contact-${ADMIN}`).getByTestId("open-chat").click();
    await expect.poll(() => texts(carol, ADMIN), { timeout: 10_000 }).toEqual(["Hello from Carol", "Hi Carol"]);
  });

  it("a message sent while admin is signed out is stored and arrives when he is back", { timeout: 120_000 }, async () => {
    await admin.close({ runBeforeUnload: true });
    await send(carol, ADMIN, "While you were away");
    await expect.poll(() => lastOut(carol, ADMIN).getAttribute("data-state"), { timeout: 15_000 }).toBe("sent");
    admin = await adminCtx.newPage();
    await admin.goto(`${baseUrl}/`);
    await online(admin);
    const win = admin.getByTestId(`chat-window-${CAROL}`);
    await expect.poll(() => win.getByTestId("chat-unread").textContent(), { timeout: 15_000 }).toBe("1 unread");
    // admin's page got it: its delivery notification (IMDN) turns carol's "sent" into "delivered"
    await expect.poll(() => lastOut(carol, ADMIN).getAttribute("data-state"), { timeout: 15_000 }).toBe("delivered");
    // unread survives a reload (the server's read marker has not moved)
    await reloadWithUnreadCounts(admin);
    await expect.poll(() => admin.getByTestId(`chat-window-${CAROL}`).getByTestId("chat-unread").textContent(), { timeout: 15_000 }).toBe("1 unread");
    await expect.poll(() => admin.title()).toBe("(1) Buddy list — Herald");
    await admin.getByTestId(`chat-window-${CAROL}`).getByRole("button", { name: /^carol/i }).click();
    await expect.poll(() => texts(admin, CAROL), { timeout: 10_000 }).toContain("While you were away");
    // read (the window marks it on the server): after a reload nothing is unread
    await expect.poll(() => admin.title()).toBe("Buddy list — Herald");
    await expect
      .poll(
        async () => {
          await reloadWithUnreadCounts(admin);
          return `${await admin.getByTestId("row-unread").count()} ${await admin.title()}`;
        },
        { timeout: 30_000 },
      )
      .toBe("0 Buddy list — Herald");
  });

  it("admin lets nobody message him: carol's message is refused (403) and not stored", { timeout: 180_000 }, async () => {
    await admin.goto(`${baseUrl}/me`);
    await online(admin);
    await admin.getByTestId("im-policy").getByLabel("Nobody").check();
    await expect.poll(() => admin.getByTestId("im-policy-message").textContent()).toBe("Saved: Nobody.");
    await send(carol, ADMIN, "Can you read this?");
    await expect.poll(() => lastOut(carol, ADMIN).getAttribute("data-state"), { timeout: 10_000 }).toBe("failed");
    expect(await lastOut(carol, ADMIN).getByTestId("chat-state").textContent()).toContain("(403)");
    await expect(lastOut(carol, ADMIN).getByRole("button", { name: "Retry" }).count()).resolves.toBe(1);
    await screenshot(carol, "chat-carol-refused");
    // nothing stored: admin's history of the conversation has no such message
    await admin.goto(`${baseUrl}/`);
    await online(admin);
    await admin.getByTestId(`contact-${CAROL}`).getByTestId("open-chat").click();
    await expect.poll(() => texts(admin, CAROL), { timeout: 10_000 }).toContain("While you were away");
    expect(await texts(admin, CAROL)).not.toContain("Can you read this?");
    await admin.goto(`${baseUrl}/me`);
    await admin.getByTestId("im-policy").getByLabel("Anyone with an account here").check();
    await expect.poll(() => admin.getByTestId("im-policy-message").textContent()).toBe("Saved: Anyone with an account here.");
  });

  it("a message to a closed window shows a desktop notification; clicking it opens the conversation", { timeout: 120_000 }, async () => {
    await admin.goto(`${baseUrl}/`);
    await online(admin);
    const win = admin.getByTestId(`chat-window-${CAROL}`);
    if (await win.count()) await admin.getByRole("button", { name: "Close conversation with Carol" }).click();
    await send(carol, ADMIN, "Ping while closed");
    const shown = () => admin.evaluate(() => (window as unknown as { __notifications: Array<{ title: string; body?: string }> }).__notifications.map((n) => `${n.title}: ${n.body}`));
    await expect.poll(shown, { timeout: 10_000 }).toContain("Message from Carol: Ping while closed");
    await admin.evaluate(() => (window as unknown as { __notifications: Array<{ onclick: (() => void) | null }> }).__notifications.at(-1)?.onclick?.());
    await expect.poll(() => win.getByRole("button", { name: /^carol/i }).getAttribute("aria-expanded")).toBe("true");
    await expect.poll(() => texts(admin, CAROL), { timeout: 10_000 }).toContain("Ping while closed");
    // looking at the expanded window: no notification for the next one
    const before = (await shown()).length;
    await send(carol, ADMIN, "You are reading this");
    await expect.poll(() => texts(admin, CAROL), { timeout: 10_000 }).toContain("You are reading this");
    expect((await shown()).length).toBe(before);
  });

  it("a second tab of carol shows what the first sent (a copy from the server)", { timeout: 120_000 }, async () => {
    const carol2 = await carolCtx.newPage();
    await carol2.goto(`${baseUrl}/`);
    await online(carol2);
    await carol2.getByTestId(`contact-${ADMIN}`).getByTestId("open-chat").click();
    await send(carol, ADMIN, "Sent from my first tab");
    await expect.poll(() => texts(carol2, ADMIN), { timeout: 10_000 }).toContain("Sent from my first tab");
    const copy = carol2.getByTestId(`chat-window-${ADMIN}`).locator('[data-direction="out"]').filter({ hasText: "Sent from my first tab" });
    await expect.poll(() => copy.getAttribute("data-state"), { timeout: 10_000 }).toMatch(/^(elsewhere|delivered)$/);
    await carol2.close();
  });

  it("the dock is axe clean and usable by keyboard at 390 and 1280 px, light and dark", { timeout: 180_000 }, async () => {
    for (const colorScheme of ["light", "dark"] as const) {
      for (const width of [390, 1280]) {
        await admin.setViewportSize({ width, height: 844 });
        await admin.emulateMedia({ colorScheme });
        const win = admin.getByTestId(`chat-window-${CAROL}`);
        await win.waitFor();
        const input = win.getByTestId("chat-input");
        await input.focus();
        await admin.keyboard.type(`Keyboard ${colorScheme} ${width}`);
        await admin.keyboard.press("Enter");
        await expect.poll(() => lastOut(admin, CAROL).getByTestId("chat-text").textContent(), { timeout: 10_000 }).toBe(`Keyboard ${colorScheme} ${width}`);
        await expect.poll(() => lastOut(admin, CAROL).getAttribute("data-state"), { timeout: 10_000 }).toBe("delivered");
        // every window inside the viewport
        const boxes = await admin.getByTestId("chat-dock").locator("section").evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => [r.left, r.right]));
        for (const [left, right] of boxes) {
          expect(left).toBeGreaterThanOrEqual(0);
          expect(right).toBeLessThanOrEqual(width);
        }
        const violations = await seriousAxeViolations(admin);
        expect(violations, describeViolations(violations)).toEqual([]);
        await screenshot(admin, `chat-dock-${colorScheme}-${width}`);
      }
    }
    await admin.emulateMedia({ colorScheme: "light" });
  });
});
