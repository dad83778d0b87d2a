/**
 * Issue 6 benchmark (b): a buddy list of N contacts (default 200) — time from clicking "Sign in"
 * (the click event in the page) to every contact row showing live state (not "unknown"; checked in
 * the page every 5 ms; `playwrightMs` is the same from before Playwright's click call to its wait's end), in Debian's Chromium against a real
 * `herald start` (embedded SIP and XCAP servers). Half the contacts publish "available" through
 * raw SIP before the login; the rest are offline. Prints JSON lines.
 *
 *   npm run bench -- page [--contacts=200] [--runs=3] [--cpu-prof=DIR] [--page-prof=DIR]
 *
 * `--cpu-prof=DIR`: Herald's CPU profile (V8 .cpuprofile) written to DIR when it stops;
 * `--page-prof=DIR`: the page's JavaScript CPU profile of each run (Chromium, DevTools protocol).
 * Each run also prints the requests after "Sign in" with their start and end (ms from the click).
 */
import { writeFileSync } from "node:fs";
import { numberArg, stringArg } from "./args";
import path from "node:path";
import { buildPortal, startHerald } from "../helpers/herald-process";
import { launchBrowser } from "../e2e/browser";
import { addDomain } from "../../lib/accounts/service";
import { digestHa1, hashPassword } from "../../lib/accounts/password";
import { XcapClient } from "../../lib/xcap/client";
import { AddressBook, addContact } from "../../lib/xcap/addressbook";
import { SipTestUa, simplePidf } from "../helpers/kamailio-sip";

const N = numberArg("contacts", 200);
const RUNS = numberArg("runs", 3);
const PASSWORD = "Bench-pass-1";

function out(o: Record<string, unknown>) {
  process.stdout.write(JSON.stringify({ bench: "page", ...o }) + "\n");
}

buildPortal();
const names = Array.from({ length: N }, (_, i) => `user${String(i).padStart(4, "0")}`);
const prof = stringArg("cpu-prof");
const pageProf = stringArg("page-prof");
const herald = await startHerald({
  ...(prof ? { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", prof] } : {}),
  seed: async (db) => {
    const d = await addDomain(db, "example.test");
    const hash = await hashPassword(PASSWORD);
    await db.account.createMany({
      data: ["alice", ...names].map((u) => ({
        username: u,
        domainId: d.id,
        address: `${u}@example.test`,
        passwordHash: hash,
        ha1: digestHa1(u, "example.test", PASSWORD),
        ha1Sha256: digestHa1(u, "example.test", PASSWORD, "sha256"),
      })),
    });
  },
});
const uas: SipTestUa[] = [];
try {
  const xcap = (u: string) =>
    new XcapClient({ root: `${herald.baseUrl}/xcap-root`, xui: `sip:${u}@example.test`, auth: { username: u, ha1: digestHa1(u, "example.test", PASSWORD) } });
  // alice's buddy list: all N contacts, written in one edit
  const aliceBook = new AddressBook({ client: xcap("alice") });
  await aliceBook.applyEdit((doc, ctx) => {
    for (const u of names) addContact(doc, ctx, { name: u, uris: [`sip:${u}@example.test`] });
  });
  // every contact lets alice see them (their own Blink-style rules)
  for (let i = 0; i < names.length; i += 20) {
    await Promise.all(names.slice(i, i + 20).map((u) => new AddressBook({ client: xcap(u) }).allowUri("sip:alice@example.test")));
  }
  // half of them are online
  for (const u of names.slice(0, Math.floor(N / 2))) {
    const ua = await SipTestUa.connect({ host: "127.0.0.1", port: herald.sipPort, user: u, domain: "example.test", password: PASSWORD });
    await ua.publish(simplePidf(`sip:${u}@example.test`, "open", "benchmarking"));
    uas.push(ua);
  }
  const browser = await launchBrowser();
  try {
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const context = await browser.newContext();
      // phases, recorded in the page (epoch ms): every row rendered, SIP registered ("online")
      // (a string: tsx would wrap the inner functions in a helper the page does not have)
      await context.addInitScript(`(() => {
        const n = ${N};
        window.__marks = {};
        const now = () => performance.timeOrigin + performance.now();
        // the moment the click reaches the page (Playwright's own checks before it are not the user's wait)
        document.addEventListener("click", (e) => {
          if (e.target instanceof Element && e.target.closest('button[type="submit"]')) window.__marks.click ??= now();
        }, true);
        const tick = () => {
          const m = window.__marks;
          const rows = document.querySelectorAll('[data-testid^="contact-sip:"]');
          if (rows.length >= n) {
            m.rowsRendered ??= now();
            let live = true;
            for (const r of rows) if (r.getAttribute("data-availability") === "unknown") { live = false; break; }
            if (live) m.allLive ??= now();
          }
          if (document.querySelector('[data-connection="online"]')) m.sipOnline ??= now();
          if (!(m.allLive && m.sipOnline)) setTimeout(tick, 5);
        };
        tick();
      })()`);
      const page = await context.newPage();
      // a person takes seconds to type an address and a password: the login page has settled by then
      await page.goto(`${herald.baseUrl}/login`, { waitUntil: "networkidle" });
      await page.getByLabel("SIP address").fill("alice@example.test");
      await page.getByLabel("Password").fill(PASSWORD);
      // the requests after "Sign in" (sign-in POST, the list's RSC payload, scripts): [path, start, end] from t0
      const requests: Array<[string, number, number]> = [];
      let t0 = Infinity; // set just before the click: earlier requests (the preload) are not listed
      page.on("requestfinished", (r) => {
        const t = r.timing();
        if (t.startTime >= t0) requests.push([new URL(r.url()).pathname + (r.headers()["rsc"] ? " (rsc)" : "") + (r.headers()["next-action"] ? ` (action ${(r.postData() ?? "").slice(0, 40)})` : ""), Math.round(t.startTime - t0), Math.round(t.startTime + t.responseEnd - t0)]);
      });
      const cdp = pageProf ? await context.newCDPSession(page) : null;
      if (cdp) { await cdp.send("Profiler.enable"); await cdp.send("Profiler.setSamplingInterval", { interval: 200 }); await cdp.send("Profiler.start"); }
      t0 = Date.now();
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForFunction(
        (n) => {
          const rows = document.querySelectorAll('[data-testid^="contact-sip:"]');
          if (rows.length < n) return false;
          for (const r of rows) if (r.getAttribute("data-availability") === "unknown") return false;
          return true;
        },
        N,
        { timeout: 60_000, polling: 20 },
      ).catch(async (err) => {
        const states = await page.evaluate(() => {
          const c: Record<string, number> = {};
          for (const r of document.querySelectorAll('[data-testid^="contact-sip:"]')) {
            const a = r.getAttribute("data-availability") ?? "?";
            c[a] = (c[a] ?? 0) + 1;
          }
          return c;
        });
        const status = await page.getByTestId("connection-status").textContent().catch(() => "?");
        throw new Error(`not every contact became live: ${JSON.stringify(states)}, connection: ${status}; ${(err as Error).message}`);
      });
      const playwrightMs = Date.now() - t0;
      if (cdp) { const { profile } = await cdp.send("Profiler.stop"); writeFileSync(path.join(pageProf!, `page-${run}.cpuprofile`), JSON.stringify(profile)); }
      const online = await page.locator('[data-testid^="contact-sip:"][data-availability="available"]').count();
      const marks = await page.evaluate(() => (window as unknown as { __marks: Record<string, number> }).__marks);
      await page.waitForFunction(() => (window as unknown as { __marks: Record<string, number> }).__marks.allLive !== undefined, undefined, { timeout: 5000 });
      const { click, allLive } = await page.evaluate(() => (window as unknown as { __marks: Record<string, number> }).__marks);
      // from the click event in the page to the first moment every row is live (both page clocks)
      const ms = Math.round(allLive - click);
      times.push(ms);
      const phases = Object.fromEntries(Object.entries(marks).filter(([k]) => k !== "click").map(([k, v]) => [k, Math.round(v - click)]));
      out({ measure: "login_to_all_live_ms", run, contacts: N, ms, playwrightMs, online, phasesMs: phases, requests: requests.map(([p, a, b]) => [p, Math.round(a - (click - t0)), Math.round(b - (click - t0))]) });
      await context.close();
    }
    times.sort((a, b) => a - b);
    out({ measure: "login_to_all_live_ms_median", contacts: N, ms: times[Math.floor(times.length / 2)], target_ms: 1000 });
  } finally {
    await browser.close();
  }
} finally {
  for (const ua of uas) await ua.close().catch(() => undefined);
  await herald.stop();
}
