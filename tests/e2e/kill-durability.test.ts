/**
 * What survives `kill -9` of `herald start` in the middle of a load (issue 13; README "What
 * survives kill -9"): an XCAP write is committed before it is answered, so every answered PUT is
 * there after the restart (or a later one that was committed but not yet answered); SIP state
 * (publications, subscriptions, registrations) is written behind in batches, so every PUBLISH
 * answered more than PERSIST_GUARANTEE_MS before the kill is restored — its state, or a later one.
 * A real child process on SQLite, killed with SIGKILL while both loads run, started again on the
 * same data directory.
 */
import { afterEach, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "../../lib/accounts/service";
import { digestHa1 } from "../../lib/accounts/password";
import type { Db } from "../../lib/db";
import { PrismaXcapStore } from "../../lib/storage/xcap-prisma-store";
import { XcapClient } from "../../lib/xcap/client";
import { startHerald, type HeraldProcess } from "../helpers/herald-process";
import { SipTestClient, pidf } from "../helpers/sip-client";
import { waitFor } from "../helpers/wait";
import { allowRules } from "../integration/server/harness";

const DOMAIN = "example.test";
const PASSWORD = "Correct-Horse-9";
const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
/** README: SIP state acknowledged this long before a kill -9 survives it. */
const PERSIST_GUARANTEE_MS = 1_000;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function seed(db: Db): Promise<void> {
  await addDomain(db, DOMAIN);
  for (const u of ["alice", "bob"]) await addAccount(db, { address: `${u}@${DOMAIN}`, password: PASSWORD });
  const r = await new PrismaXcapStore(db).put({ auid: "org.openmobilealliance.pres-rules", scope: "users", xui: ALICE, docPath: "index" }, { content: allowRules(ALICE, [BOB]), etag: "rules-1" }, null);
  if (!r.ok) throw new Error("seeding alice's pres-rules failed");
}

const listXml = (n: number) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="v${n}"><entry uri="sip:c${n}@${DOMAIN}"/></list></resource-lists>`;

describe("kill -9 of herald start during a load", () => {
  it("keeps every answered XCAP write and every PUBLISH answered more than 1 s before the kill", async () => {
    const first = await startHerald({ seed });
    let h: HeraldProcess = first;
    cleanups.push(() => h.stop());
    const xcap = (herald: HeraldProcess) =>
      new XcapClient({ root: `${herald.baseUrl}/xcap-root`, xui: ALICE, auth: { username: "alice", ha1: digestHa1("alice", DOMAIN, PASSWORD) }, timeoutMs: 10_000 });
    const alice = await SipTestClient.connect({ host: "127.0.0.1", port: first.sipPort, user: "alice", domain: DOMAIN, password: PASSWORD, timeoutMs: 10_000 });
    cleanups.push(() => alice.close());

    // both loads run until the process dies; answers are recorded with the time they arrived
    let stop = false;
    let lastPutAnswered = -1;
    const publishAnswered: Array<{ n: number; at: number }> = [];
    const xcapLoad = (async () => {
      const c = xcap(first);
      for (let n = 0; !stop; n++) {
        try {
          await c.putDocument("resource-lists", "index", listXml(n));
          lastPutAnswered = n;
        } catch {
          return; // the process is gone
        }
      }
    })();
    const publishLoad = (async () => {
      let etag: string | undefined;
      for (let n = 0; !stop; n++) {
        try {
          const r = await alice.publish(pidf(ALICE, n % 2 ? "open" : "closed", `n${n}`), { etag, expires: 3600 });
          if (r.status !== 200) throw new Error(`PUBLISH answered ${r.status}`);
          etag = r.getHeader("SIP-ETag");
          publishAnswered.push({ n, at: Date.now() });
        } catch {
          return;
        }
      }
    })();

    // mid-load: well past the guarantee window, with writes still in flight
    await waitFor(() => publishAnswered.length > 0 && Date.now() - publishAnswered[0]!.at > 2 * PERSIST_GUARANTEE_MS && lastPutAnswered >= 5, {
      timeoutMs: 60_000,
      what: "both loads to run for 2 s",
    });
    const killedAt = Date.now();
    await first.kill("SIGKILL");
    stop = true;
    await Promise.all([xcapLoad, publishLoad]);
    const putBeforeKill = lastPutAnswered;
    const mustSurvive = publishAnswered.filter((p) => p.at <= killedAt - PERSIST_GUARANTEE_MS).at(-1)!;
    const lastSent = publishAnswered.at(-1)!.n + 1; // one more may have been in flight
    expect(mustSurvive).toBeDefined();

    h = await startHerald({ dataDir: first.dataDir, sipPort: first.sipPort });

    // XCAP: the last answered version, or the one in flight at the kill
    const doc = await xcap(h).getDocument("resource-lists", "index");
    const version = Number(/list name="v(\d+)"/.exec(doc?.xml ?? "")?.[1]);
    expect(version === putBeforeKill || version === putBeforeKill + 1).toBe(true);

    // SIP: bob sees alice's restored publication, at least as new as the last one that must survive
    const bob = await SipTestClient.connect({ host: "127.0.0.1", port: h.sipPort, user: "bob", domain: DOMAIN, password: PASSWORD, timeoutMs: 10_000 });
    cleanups.push(() => bob.close());
    const { response, sub } = await bob.subscribe(ALICE, { expires: 600 });
    expect(response.status).toBe(200);
    const notify = await bob.waitForNotify((n) => /<note[^>]*>n\d+</.test(n.bodyText), { sub, timeoutMs: 10_000 });
    const restored = Number(/<note[^>]*>n(\d+)</.exec(notify.bodyText)![1]);
    expect(restored).toBeGreaterThanOrEqual(mustSurvive.n);
    expect(restored).toBeLessThanOrEqual(lastSent);
  });
});
