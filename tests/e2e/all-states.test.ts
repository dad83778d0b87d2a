/**
 * A buddy list with a contact in every state — available, away, extended away, busy, offline, a
 * contact who has not authorized us yet — plus a new contact request and a blocked address, as
 * seen in the browser; saved as a full-page screenshot so the look can be judged. The contacts
 * are real SIP clients publishing Blink-style PIDF to a dedicated Herald instance.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { launchBrowser, login, screenshot } from "./browser";
import { startHerald, type HeraldProcess } from "../helpers/herald-process";
import { addAccount, addDomain } from "../../lib/accounts/service";
import { digestHa1 } from "../../lib/accounts/password";
import { XcapClient } from "../../lib/xcap/client";
import { AddressBook, addContact } from "../../lib/xcap/addressbook";
import { composePidf } from "../../lib/presence";
import { SipTestUa } from "../helpers/kamailio-sip";

const PASSWORD = "States-pass-1";
const D = "example.test";
const STATES = [
  { user: "ann", name: "Ann Available", extended: "available", note: "At my desk" },
  { user: "aaron", name: "Aaron Away", extended: "away", note: "Back in 10" },
  { user: "xavier", name: "Xavier Extended", extended: "extended-away", note: "On holiday" },
  { user: "bea", name: "Bea Busy", extended: "busy", note: "In a meeting" },
] as const;

describe("buddy list with every state", () => {
  let herald: HeraldProcess;
  let browser: Browser;
  const uas: SipTestUa[] = [];

  beforeAll(async () => {
    const users = ["viewer", ...STATES.map((s) => s.user), "olga", "pete", "rita", "mallory"];
    herald = await startHerald({
      seed: async (db) => {
        await addDomain(db, D);
        for (const u of users) await addAccount(db, { address: `${u}@${D}`, password: PASSWORD });
      },
    });
    const xcap = (u: string) =>
      new XcapClient({ root: `${herald.baseUrl}/xcap-root`, xui: `sip:${u}@${D}`, auth: { username: u, ha1: digestHa1(u, D, PASSWORD) } });
    // the viewer's list: everyone but rita (who will ask) and mallory (blocked)
    const viewer = new AddressBook({ client: xcap("viewer") });
    await viewer.applyEdit((doc, ctx) => {
      for (const s of STATES) addContact(doc, ctx, { name: s.name, uris: [`sip:${s.user}@${D}`] });
      addContact(doc, ctx, { name: "Olga Offline", uris: [`sip:olga@${D}`] });
      addContact(doc, ctx, { name: "Pete Pending", uris: [`sip:pete@${D}`] });
    });
    await viewer.blockUri(`sip:mallory@${D}`);
    // everybody but pete lets the viewer see them
    for (const u of [...STATES.map((s) => s.user), "olga"]) await new AddressBook({ client: xcap(u) }).allowUri(`sip:viewer@${D}`);
    for (const s of STATES) {
      const ua = await SipTestUa.connect({ host: "127.0.0.1", port: herald.sipPort, user: s.user, domain: D, password: PASSWORD });
      uas.push(ua);
      const pub = await ua.publish(composePidf({ entity: `sip:${s.user}@${D}`, extended: s.extended, note: s.note, deviceId: `dev-${s.user}` }));
      expect(pub.final.status).toBe(200);
    }
    // rita asks to see the viewer: a new contact request
    const rita = await SipTestUa.connect({ host: "127.0.0.1", port: herald.sipPort, user: "rita", domain: D, password: PASSWORD });
    uas.push(rita);
    expect((await rita.subscribe(`sip:viewer@${D}`)).final.status).toBeLessThan(300);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    for (const ua of uas) await ua.close().catch(() => undefined);
    await herald?.stop();
  });

  it("shows every availability, the pending contact, the request and the blocked address", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await login(context, herald.baseUrl, { address: `viewer@${D}`, password: PASSWORD });
      const row = (u: string) => page.getByTestId(`contact-sip:${u}@${D}`);
      for (const s of STATES) {
        await expect.poll(() => row(s.user).getAttribute("data-availability"), { timeout: 15_000 }).toBe(s.extended);
        await expect.poll(() => row(s.user).getByTestId("contact-note").textContent()).toContain(s.note);
      }
      await expect.poll(() => row("olga").getAttribute("data-availability"), { timeout: 10_000 }).toBe("offline");
      await expect.poll(() => row("pete").textContent(), { timeout: 10_000 }).toMatch(/pending|waiting|authoriz/i);
      await page.getByTestId(`request-sip:rita@${D}`).waitFor({ timeout: 10_000 });
      await page.getByTestId(`blocked-sip:mallory@${D}`).waitFor({ timeout: 10_000 });
      // online contacts above offline ones
      const order = await page.locator('[data-testid^="contact-sip:"]').evaluateAll((els) => els.map((e) => e.getAttribute("data-availability")));
      expect(order.indexOf("offline")).toBeGreaterThan(Math.max(order.indexOf("available"), order.indexOf("busy")));
      await screenshot(page, "buddy-list-all-states");
    } finally {
      await context.close();
    }
  });
});
