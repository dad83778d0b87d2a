/**
 * Presence that tells the truth (issue 12, item 1) in real Chromium: erin's tab dies with its
 * browser process (killed hard: nothing un-published, no pagehide), her new tab chooses Busy and
 * frank's buddy list shows Busy within 10 s although the dead tab's Available is still published;
 * she chooses Invisible and frank sees her Offline with her offline note, exactly as if she were.
 * Runs with two accounts of its own (added with the CLI) so the other flows' users stay untouched.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { chromium, type Browser, type BrowserContext, type BrowserServer, type Page } from "playwright-core";
import { CHROMIUM_PATH, launchBrowser, login } from "./browser";
import { heraldCli } from "./page-helpers";
import { addContactViaDialog, allowRequest, online, publish, screenshotFailure } from "./flow-steps";

const baseUrl = inject("baseUrl");
const ERIN = { address: "erin@example.test", password: "Truthful-Erin-1" };
const FRANK = { address: "frank@example.test", password: "Truthful-Frank-1" };
const ERIN_AOR = `sip:${ERIN.address}`;
const FRANK_AOR = `sip:${FRANK.address}`;

function addAccount(user: { address: string; password: string }, name: string) {
  const r = heraldCli(inject("dataDir"), "accounts", "add", user.address, "--password", user.password, "--name", name);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
}

/** A second Chromium whose process (and its children) the test can kill. */
async function killableBrowser(): Promise<{ server: BrowserServer; browser: Browser; kill: () => void }> {
  const server = await chromium.launchServer({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const browser = await chromium.connect(server.wsEndpoint());
  const kill = () => {
    const pid = server.process().pid!;
    try {
      process.kill(-pid, "SIGKILL"); // the whole process group: browser, renderers, network service
    } catch {
      process.kill(pid, "SIGKILL");
    }
  };
  return { server, browser, kill };
}

describe("a dead tab never outvotes the user", () => {
  let browser: Browser;
  let doomed: Awaited<ReturnType<typeof killableBrowser>>;
  let frankCtx: BrowserContext;
  let erinCtx: BrowserContext;
  let frank: Page;
  let erin: Page;

  beforeAll(async () => {
    addAccount(ERIN, "Erin");
    addAccount(FRANK, "Frank");
    browser = await launchBrowser();
    doomed = await killableBrowser();
    frankCtx = await browser.newContext();
    erinCtx = await browser.newContext();
  }, 60_000);
  afterAll(async () => {
    await frankCtx?.close();
    await erinCtx?.close();
    await browser?.close();
    await doomed?.server.close().catch(() => undefined);
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") await screenshotFailure(ctx.task.name, { frank: frankCtx, erin: erinCtx }, "truth-");
  });

  it("erin's tab dies with its browser; in a new tab she chooses Busy: frank sees Busy within 10 s", async () => {
    frank = await login(frankCtx, baseUrl, FRANK);
    await online(frank);
    await addContactViaDialog(frank, ERIN.address, "Erin");

    const oldCtx = await doomed.browser.newContext();
    const old = await login(oldCtx, baseUrl, ERIN);
    await online(old);
    await allowRequest(old, FRANK_AOR, "truth-erin-allows-frank");
    await old.getByRole("link", { name: "My Presence" }).click();
    await old.waitForURL(/\/me$/);
    await publish(old, "available", "On my laptop");
    const row = frank.getByTestId(`contact-${ERIN_AOR}`);
    await expect.poll(() => row.getAttribute("data-availability"), { timeout: 15_000 }).toBe("available");

    doomed.kill();

    erin = await login(erinCtx, baseUrl, ERIN, "/me");
    await online(erin);
    await publish(erin, "busy", "");
    await expect.poll(() => row.getAttribute("data-availability"), { timeout: 10_000, interval: 100 }).toBe("busy");
  });

  it("she chooses Invisible: frank sees her Offline with her offline note", async () => {
    await erin.getByLabel("Offline note").fill("Back on Monday");
    await erin.getByRole("button", { name: "Save offline status" }).click();
    await expect.poll(() => erin.getByTestId("offline-status-message").textContent()).toBe("Offline status saved.");
    await publish(erin, "invisible", "");
    const row = frank.getByTestId(`contact-${ERIN_AOR}`);
    await expect.poll(() => row.getAttribute("data-availability"), { timeout: 10_000, interval: 100 }).toBe("offline");
    await expect.poll(() => row.getByTestId("contact-note").textContent(), { timeout: 5000 }).toBe("Back on Monday");
  });
});
