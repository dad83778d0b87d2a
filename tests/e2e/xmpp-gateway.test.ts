/**
 * The SIP–XMPP presence gateway end to end (issue 18): `herald start` with the XMPP_* variables
 * against a private Prosody (tests/helpers/prosody.ts), real XMPP users (python3-slixmpp) and a
 * Herald user on the buddy list in Chromium.
 *
 * - alice adds `bob@xmpp.example` from the Add contact dialog; bob approves; bob's show/status
 *   changes reach alice's open page in < 1 s (measured from the stanza being sent); the row is a SIP
 *   contact's row (same elements, buttons and labels as carol's, a SIP contact in the same state).
 * - erin (XMPP) asks to see alice: a request on the buddy list; Allow there sends erin `subscribed`
 *   and alice's presence (busy + note → `dnd` + status).
 * - gina (XMPP) asks too: Block there sends her `unsubscribed`, never `subscribed`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { addAccount, addDomain } from "../../lib/accounts/service";
import { PrismaXcapStore } from "../../lib/storage/xcap-prisma-store";
import { startHerald, type HeraldProcess } from "../helpers/herald-process";
import { startProsody, type RunningProsody } from "../helpers/prosody";
import { SipTestClient, pidf } from "../helpers/sip-client";
import { waitFor } from "../helpers/wait";
import { XmppTestClient } from "../helpers/xmpp-client";
import { allowRules } from "../integration/server/harness";
import { launchBrowser, login, screenshot } from "./browser";
import { addContactViaDialog, allowRequest, screenshotFailure } from "./flow-steps";

const DOMAIN = "example.test";
const XMPP_DOMAIN = "xmpp.example";
const SECRET = "e2e-component-secret-1";
const PASSWORD = "Correct-Horse-9";
const ALICE = `sip:alice@${DOMAIN}`;
const CAROL = `sip:carol@${DOMAIN}`;
/** The acceptance bound: an XMPP user's change shows on the page within 1 s. */
const BOUND_MS = 1000;

describe("SIP–XMPP gateway on the buddy list (Chromium, Prosody, slixmpp)", () => {
  let prosody: RunningProsody;
  let herald: HeraldProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const xmpp = async (user: string) => {
    const c = await XmppTestClient.connect(`${user}@${XMPP_DOMAIN}/e2e`, `pw-${user}-1`, prosody.c2sPort);
    cleanups.push(() => c.close());
    return c;
  };
  const row = (uri: string) => page.getByTestId(`contact-${uri}`);

  beforeAll(async () => {
    prosody = await startProsody({ host: XMPP_DOMAIN, components: { [DOMAIN]: SECRET }, users: ["bob", "erin", "gina"].map((u) => ({ user: u, password: `pw-${u}-1` })) });
    herald = await startHerald({
      seed: async (db) => {
        await addDomain(db, DOMAIN);
        for (const u of ["alice", "carol"]) await addAccount(db, { address: `${u}@${DOMAIN}`, password: PASSWORD });
        // carol lets alice see her: the SIP contact beside the XMPP one
        const r = await new PrismaXcapStore(db).put({ auid: "org.openmobilealliance.pres-rules", scope: "users", xui: CAROL, docPath: "index" }, { content: allowRules(CAROL, [ALICE]), etag: "rules-1" }, null);
        if (!r.ok) throw new Error("seeding carol's pres-rules failed");
      },
      env: { XMPP_COMPONENT_URL: `tcp://127.0.0.1:${prosody.componentPort}`, XMPP_COMPONENT_SECRET: SECRET, XMPP_COMPONENT_DOMAIN: DOMAIN, XMPP_DOMAINS: XMPP_DOMAIN },
    });
    await waitFor(() => /connected to the XMPP server/.test(herald.output()), { timeoutMs: 15_000, what: `the gateway's component connection (output: ${herald.output().slice(-500)})` });
    browser = await launchBrowser();
    context = await browser.newContext();
    page = await login(context, herald.baseUrl, { address: `alice@${DOMAIN}`, password: PASSWORD });
    await page.locator('[data-testid="connection-status"][data-connection="online"]').waitFor({ timeout: 15_000 });
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") await screenshotFailure(`xmpp ${ctx.task.name}`, { alice: context });
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await context?.close();
    await browser?.close();
    await herald?.stop();
    await prosody?.stop();
  });

  it("alice adds an XMPP contact from the buddy list: bob's show and status show in < 1 s, on a row like a SIP contact's", async () => {
    const carol = await SipTestClient.connect({ host: "127.0.0.1", port: herald.sipPort, user: "carol", domain: DOMAIN, password: PASSWORD });
    cleanups.push(() => carol.close());
    expect((await carol.publish(pidf(CAROL, "open", "At my desk"))).status).toBe(200);
    await addContactViaDialog(page, `carol@${DOMAIN}`, "Carol");
    await expect.poll(() => row(CAROL).getAttribute("data-availability"), { timeout: 10_000 }).toBe("available");

    const bob = await xmpp("bob");
    bob.presence(undefined, "At my desk", "en");
    await addContactViaDialog(page, `bob@${XMPP_DOMAIN}`, "Bob");
    // the gateway asks bob (subscribe); until he approves the row waits, as a SIP contact's does
    await bob.waitPresence((e) => e.from === `alice@${DOMAIN}` && e.type === "subscribe", { timeoutMs: 15_000 });
    await expect.poll(() => row(`sip:bob@${XMPP_DOMAIN}`).getByTestId("contact-note").textContent(), { timeout: 10_000 }).toBe("Waiting for authorization");
    bob.send("subscribed", `alice@${DOMAIN}`);
    const bobRow = row(`sip:bob@${XMPP_DOMAIN}`);
    await expect.poll(() => bobRow.getAttribute("data-availability"), { timeout: 10_000 }).toBe("available");
    await expect.poll(() => bobRow.getByTestId("contact-note").textContent()).toBe("At my desk");
    await screenshot(page, "xmpp-contact-on-buddy-list");
    expect(await skeleton(bobRow, "Bob", `bob@${XMPP_DOMAIN}`)).toEqual(await skeleton(row(CAROL), "Carol", `carol@${DOMAIN}`));

    // each change: from the stanza leaving bob's client to the row showing it
    const figures: string[] = [];
    for (const [show, status, availability] of [["away", "Lunch", "away"], ["dnd", "On a call", "busy"], ["xa", "Gone home", "extended-away"], [undefined, "Back", "available"]] as const) {
      const t0 = Date.now();
      bob.presence(show, status, "en");
      await page.waitForFunction(
        ({ id, availability, status }) => {
          const li = document.querySelector(`[data-testid="${CSS.escape(id)}"]`);
          return li?.getAttribute("data-availability") === availability && li.querySelector('[data-testid="contact-note"]')?.textContent === status;
        },
        { id: `contact-sip:bob@${XMPP_DOMAIN}`, availability, status },
        { polling: "raf", timeout: 5000 },
      );
      const ms = Date.now() - t0;
      figures.push(`${show ?? "available"} ${ms} ms`);
      expect(ms, `${show ?? "available"} took ${ms} ms`).toBeLessThan(BOUND_MS);
    }
    process.stdout.write(`XMPP → buddy list (show/status change to the row): ${figures.join(", ")}\n`);
  }, 90_000);

  it("an XMPP user's request shows on the buddy list; Allow sends them subscribed and alice's presence", async () => {
    const bar = page.getByTestId("my-status-bar");
    await bar.getByTestId("my-status-menu").click();
    await page.getByRole("menuitemradio", { name: "Busy" }).click();
    await bar.getByLabel("Your note").fill("In a meeting");
    await bar.getByLabel("Your note").press("Enter");
    await expect.poll(() => bar.getByTestId("my-status-outcome").textContent(), { timeout: 5000 }).toBe("Published: note “In a meeting”.");

    const erin = await xmpp("erin");
    erin.presence(undefined, "Hi", "en");
    erin.send("subscribe", `alice@${DOMAIN}`);
    await allowRequest(page, `sip:erin@${XMPP_DOMAIN}`, "xmpp-request");
    await erin.waitPresence((e) => e.from === `alice@${DOMAIN}` && e.type === "subscribed", { timeoutMs: 10_000 });
    const seen = await erin.waitPresence((e) => e.from === `alice@${DOMAIN}` && e.show === "dnd", { timeoutMs: 10_000 });
    expect(seen.statuses.map((s) => s.text)).toContain("In a meeting");
    // Allow also made erin a contact alice follows: the gateway asks her, she approves, her row is live
    await erin.waitPresence((e) => e.from === `alice@${DOMAIN}` && e.type === "subscribe", { timeoutMs: 10_000 });
    erin.send("subscribed", `alice@${DOMAIN}`);
    await expect.poll(() => row(`sip:erin@${XMPP_DOMAIN}`).getAttribute("data-availability"), { timeout: 10_000 }).toBe("available");
    await expect.poll(() => row(`sip:erin@${XMPP_DOMAIN}`).getByTestId("contact-note").textContent()).toBe("Hi");
  }, 60_000);

  it("Block on an XMPP user's request sends them unsubscribed, never subscribed", async () => {
    const gina = await xmpp("gina");
    gina.presence();
    gina.send("subscribe", `alice@${DOMAIN}`);
    const request = page.getByTestId(`request-sip:gina@${XMPP_DOMAIN}`);
    await request.waitFor({ timeout: 10_000 });
    await request.getByRole("button", { name: /^Block/ }).click();
    await expect.poll(() => request.count(), { timeout: 10_000 }).toBe(0);
    await gina.waitPresence((e) => e.from === `alice@${DOMAIN}` && e.type === "unsubscribed", { timeoutMs: 10_000 });
    expect(gina.presences((e) => e.from === `alice@${DOMAIN}` && (e.type === "subscribed" || e.type === "available"))).toHaveLength(0);
  }, 60_000);
});

/**
 * A row's elements in document order (tag, test id, ARIA role, label and name with the contact's
 * name and address replaced): equal for two contacts shown the same way.
 */
function skeleton(row: Locator, name: string, address: string): Promise<string[]> {
  return row.evaluate(
    (li, { name, address }) => {
      const generic = (s: string | null) => (s ?? "").replaceAll(address, "ADDRESS").replaceAll(name, "NAME");
      return [li, ...li.querySelectorAll("*")].map((e) => {
        const parts = [e.tagName.toLowerCase()];
        for (const a of ["data-testid", "role", "aria-label", "aria-haspopup", "type"]) if (e.hasAttribute(a)) parts.push(`${a}=${generic(e.getAttribute(a))}`);
        if (e.tagName === "BUTTON") parts.push(`text=${generic(e.textContent)}`);
        return parts.join(" ");
      });
    },
    { name, address },
  );
}
