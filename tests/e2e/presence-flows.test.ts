/**
 * Live presence through the whole system (browser JsSIP client → ws bridge → embedded SIP server
 * ← XCAP): bob adds alice, alice allows him from New contact requests, bob sees her status, note
 * and picture and every change within 2 s of her PUBLISH; a second tab of alice's follows the
 * first; a killed bridge connection shows "Reconnecting…" then live state; block and tab close
 * show her offline. Two browser contexts (alice and bob).
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page, WebSocketRoute } from "playwright-core";
import { launchBrowser, login, screenshot } from "./browser";
import { tinyPng } from "./page-helpers";

const baseUrl = inject("baseUrl");
const users = inject("users");
const ALICE = "sip:alice@example.test";
const BOB = "sip:bob@example.test";
/** The acceptance bound for a change to reach a watcher. */
const LIVE_MS = 2000;

async function publish(page: Page, status: string, note: string) {
  await page.getByTestId("status-picker").selectOption(status);
  await page.getByLabel("Note", { exact: true }).fill(note);
  await page.getByRole("button", { name: "Publish" }).click();
}

async function online(page: Page) {
  await expect.poll(() => page.getByTestId("connection-status").getAttribute("data-connection"), { timeout: 15_000 }).toBe("online");
}

describe("live presence (embedded server)", () => {
  let browser: Browser;
  let aliceCtx: BrowserContext;
  let bobCtx: BrowserContext;
  let alice: Page;
  let bob: Page;
  /** bob's WebSocket to the bridge, routed through the test so it can be cut. */
  let bobSocket: WebSocketRoute | undefined;

  beforeAll(async () => {
    browser = await launchBrowser();
    aliceCtx = await browser.newContext();
    bobCtx = await browser.newContext();
    await bobCtx.routeWebSocket(/\/sip$/, (ws) => {
      bobSocket = ws;
      ws.connectToServer();
    });
  });
  afterAll(async () => {
    await aliceCtx?.close();
    await bobCtx?.close();
    await browser?.close();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") {
      for (const [who, c] of [
        ["alice", aliceCtx],
        ["bob", bobCtx],
      ] as const) {
        for (const [i, p] of c.pages().entries()) await screenshot(p, `failure-${ctx.task.name.replace(/\W+/g, "-")}-${who}-${i}`).catch(() => undefined);
      }
    }
  });

  it("bob adds alice, alice allows him, bob sees her available with note and picture", async () => {
    alice = await login(aliceCtx, baseUrl, users.alice);
    await alice.getByRole("link", { name: "My Presence" }).click();
    await alice.waitForURL(/\/me$/);
    await online(alice);
    await alice.getByLabel("Picture", { exact: true }).setInputFiles({ name: "alice.png", mimeType: "image/png", buffer: tinyPng(16, 16, [220, 38, 38]) });
    await alice.getByRole("button", { name: "Upload picture" }).click();
    await expect.poll(() => alice.getByTestId("icon-status").textContent()).toBe("Picture saved. Your contacts see it with your status.");
    await publish(alice, "available", "Writing specs");
    await expect.poll(() => alice.getByTestId("publish-status").textContent()).toBe("Published: Available — Writing specs.");
    await alice.getByRole("link", { name: "Buddy list" }).click();
    await alice.waitForURL((u) => u.pathname === "/");

    bob = await login(bobCtx, baseUrl, users.bob);
    await online(bob);
    await bob.getByRole("button", { name: "Add contact" }).click();
    const dlg = bob.getByRole("dialog", { name: "Add contact" });
    await dlg.getByLabel("SIP address").fill("alice@example.test");
    await dlg.getByLabel("Name").fill("Alice");
    await dlg.getByRole("button", { name: "Add contact" }).click();
    await bob.getByTestId("action-status").getByText("Alice added.", { exact: true }).waitFor({ timeout: 10_000 });

    const request = alice.getByTestId(`request-${BOB}`);
    await request.waitFor({ timeout: 10_000 });
    await screenshot(alice, "presence-alice-request");
    await request.getByRole("button", { name: /^Allow/ }).click();
    await expect.poll(() => alice.getByTestId(`request-${BOB}`).count()).toBe(0);

    const row = bob.getByTestId(`contact-${ALICE}`);
    await expect.poll(() => row.getAttribute("data-availability"), { timeout: 15_000 }).toBe("available");
    await expect.poll(() => row.getByTestId("contact-note").textContent()).toBe("Writing specs");
    await expect.poll(() => row.getByRole("img", { name: "Picture of Alice" }).getAttribute("src"), { timeout: 5000 }).toMatch(/^(data:image\/png|blob:)/);

    // a fresh PUBLISH reaches bob within 2 s
    await alice.getByRole("link", { name: "My Presence" }).click();
    await alice.waitForURL(/\/me$/);
    await publish(alice, "available", "Reviewing the RLS");
    await expect.poll(() => row.getByTestId("contact-note").textContent(), { timeout: LIVE_MS, interval: 50 }).toBe("Reviewing the RLS");
  });

  it("alice switches to busy and bob sees busy within 2 s", async () => {
    await publish(alice, "busy", "In a meeting");
    const row = bob.getByTestId(`contact-${ALICE}`);
    await expect.poll(() => row.getAttribute("data-availability"), { timeout: LIVE_MS, interval: 50 }).toBe("busy");
    await expect.poll(() => row.getByTestId("contact-note").textContent(), { timeout: LIVE_MS }).toBe("In a meeting");
    await screenshot(bob, "presence-bob-sees-alice-busy");
  });

  it("a status set in alice's second tab shows in the first", async () => {
    const second = await aliceCtx.newPage();
    await second.goto(`${baseUrl}/me`);
    await online(second);
    await publish(second, "away", "Lunch");
    await expect.poll(() => alice.getByTestId("my-current-status").textContent(), { timeout: 5000 }).toContain("Away");
    await expect.poll(() => alice.getByTestId("status-picker").inputValue()).toBe("away");
    await expect.poll(() => bob.getByTestId(`contact-${ALICE}`).getAttribute("data-availability"), { timeout: 5000 }).toBe("away");
    await second.close({ runBeforeUnload: true });
  });

  it("when bob's bridge connection is cut, his page shows Reconnecting… and then live state", async () => {
    expect(bobSocket).toBeDefined();
    await bobSocket!.close({ code: 1011, reason: "test cut" });
    await expect.poll(() => bob.getByTestId("connection-status").getAttribute("data-connection"), { timeout: 5000 }).toBe("reconnecting");
    expect(await bob.getByTestId("connection-status").textContent()).toBe("Reconnecting…");
    // nothing stays shown as live while the connection is down
    expect(await bob.getByTestId(`contact-${ALICE}`).getAttribute("data-availability")).toBe("unknown");
    await online(bob);
    await expect.poll(() => bob.getByTestId(`contact-${ALICE}`).getAttribute("data-availability"), { timeout: 10_000 }).toBe("away");
  });

  // The removal PUBLISH (Expires: 0) leaves on pagehide with preemptive digest credentials, so
  // it takes effect even though the page is gone before any challenge could be answered.
  it("alice closes her tab: bob sees her offline", async () => {
    await alice.close({ runBeforeUnload: true });
    await expect.poll(() => bob.getByTestId(`contact-${ALICE}`).getAttribute("data-availability"), { timeout: 5000 }).toBe("offline");
    await screenshot(bob, "presence-bob-alice-offline");
  });
  it("alice blocks bob: he sees her offline", async () => {
    // a new tab of alice's: live again with the status this browser kept
    alice = await aliceCtx.newPage();
    await alice.goto(`${baseUrl}/`);
    await online(alice);
    await expect.poll(() => bob.getByTestId(`contact-${ALICE}`).getAttribute("data-availability"), { timeout: 5000 }).toBe("away");
    const bobRow = alice.getByTestId(`contact-${BOB}`);
    await bobRow.getByRole("button", { name: /^Block/ }).click();
    await alice.getByTestId(`blocked-${BOB}`).waitFor();
    await expect.poll(() => bob.getByTestId(`contact-${ALICE}`).getAttribute("data-availability"), { timeout: 5000 }).toBe("offline");
  });

  it("alice unblocks bob: he is a contact request again (her default policy is confirm) and waits for her answer", async () => {
    await alice.getByTestId(`blocked-${BOB}`).getByRole("button", { name: /^Unblock/ }).click();
    await alice.getByTestId(`request-${BOB}`).waitFor({ timeout: 5000 });
    await expect.poll(() => bob.getByTestId(`contact-${ALICE}`).getByTestId("contact-note").textContent(), { timeout: 5000 }).toBe("Waiting for authorization");
  });
});
