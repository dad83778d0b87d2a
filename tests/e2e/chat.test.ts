/**
 * Instant messages between two pages (issue 17), through the bridge and the embedded server:
 * carol opens a chat from a contact row, admin's page gets a docked window with an unread count
 * (row, window, title), typing shows on the other side, message states, history after a reload,
 * a message stored while admin is signed out arrives when he signs in, and once admin allows only
 * his contacts, carol's message is refused (Not sent, 403) and never reaches his history.
 * carol and admin: the accounts the presence flows leave alone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, login, screenshot } from "./browser";
import { addContactViaDialog, online, screenshotFailure } from "./flow-steps";

const baseUrl = inject("baseUrl");
const users = inject("users");
const CAROL = "sip:carol@example.test";
const ADMIN = "sip:admin@example.test";

async function send(page: Page, peer: string, text: string) {
  const w = page.getByTestId(`chat-window-${peer}`);
  await w.getByTestId("chat-input").fill(text);
  await w.getByRole("button", { name: "Send" }).click();
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
    await win.getByRole("button", { name: /^carol/i }).click();
    await expect.poll(() => texts(admin, CAROL), { timeout: 10_000 }).toContain("While you were away");
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
});
