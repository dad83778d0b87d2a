/**
 * Live presence through the whole system (browser JsSIP client → ws bridge → embedded SIP server
 * ← XCAP): bob adds alice, alice allows him from New contact requests, bob sees her status, note
 * and picture and every change within 2 s of her PUBLISH; a second tab of alice's follows the
 * first; a killed bridge connection shows "Reconnecting…" then live state; block and tab close
 * show her offline, and an unblock gives bob back what he saw before. Two browser contexts (alice and bob).
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page, WebSocketRoute } from "playwright-core";
import { launchBrowser, login } from "./browser";
import { tinyPng } from "./page-helpers";
import {
  addContactViaDialog,
  allowRequest,
  busyReachesWatcher,
  cutConnectionThenLive,
  freshPublishReachesWatcher,
  online,
  publish,
  reopen,
  screenshotFailure,
  secondTabStatusShows,
  seesAvailableWithNoteAndPicture,
  tabCloseShowsOffline,
} from "./flow-steps";

const baseUrl = inject("baseUrl");
const users = inject("users");
const ALICE = "sip:alice@example.test";
const BOB = "sip:bob@example.test";



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
    if (ctx.task.result?.state === "fail") await screenshotFailure(ctx.task.name, { alice: aliceCtx, bob: bobCtx });
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
    await addContactViaDialog(bob, "alice@example.test", "Alice");
    await allowRequest(alice, BOB, "presence-alice-request");
    await seesAvailableWithNoteAndPicture(bob, ALICE, "Writing specs", "Alice");
    await freshPublishReachesWatcher(alice, bob, ALICE);
  });

  it("alice switches to busy and bob sees busy within 2 s", async () => {
    await busyReachesWatcher(alice, bob, ALICE, "presence-bob-sees-alice-busy");
  });

  it("a status set in alice's second tab shows in the first", async () => {
    await secondTabStatusShows(aliceCtx, alice, bob, ALICE, baseUrl);
  });

  it("when bob's bridge connection is cut, his page shows Reconnecting… and then live state", async () => {
    await cutConnectionThenLive(bobSocket, bob, ALICE, "away");
  });

  it("alice closes her tab: bob sees her offline", async () => {
    await tabCloseShowsOffline(alice, bob, ALICE, "presence-bob-alice-offline");
  });
  it("alice blocks bob: he sees her offline", async () => {
    // a new tab of alice's: live again with the status this browser kept
    alice = await reopen(aliceCtx, baseUrl);
    await expect.poll(() => bob.getByTestId(`contact-${ALICE}`).getAttribute("data-availability"), { timeout: 5000 }).toBe("away");
    const bobRow = alice.getByTestId(`contact-${BOB}`);
    await bobRow.getByRole("button", { name: /^Actions for / }).click();
    await alice.getByRole("menuitem", { name: /^Block/ }).click();
    await alice.getByTestId(`blocked-${BOB}`).waitFor();
    await expect.poll(() => bob.getByTestId(`contact-${ALICE}`).getAttribute("data-availability"), { timeout: 5000 }).toBe("offline");
  });

  it("alice unblocks bob: he sees her again as before the block, with no new request", async () => {
    await alice.getByTestId(`blocked-${BOB}`).getByRole("button", { name: /^Unblock/ }).click();
    await expect.poll(() => bob.getByTestId(`contact-${ALICE}`).getAttribute("data-availability"), { timeout: 5000 }).toBe("away");
    expect(await alice.getByTestId(`request-${BOB}`).count()).toBe(0);
    expect(await alice.getByTestId(`blocked-${BOB}`).count()).toBe(0);
  });
});
