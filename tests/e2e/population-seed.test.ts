/**
 * The population bench's seeding (tests/bench/population-seed.ts) writes straight into the database
 * what the portal would write over XCAP: `herald start` on a small population serves the address
 * books back, accepts them unchanged on PUT (its XCAP validation, service-URI claims included), and
 * a user behind the bridge subscribed to their buddy list gets full state with every member.
 */
import { afterEach, describe, expect, it } from "vitest";
import { digestHa1 } from "../../lib/accounts/password";
import { parseMultipartRelated, partText } from "../../lib/presence";
import { XcapClient } from "../../lib/xcap/client";
import { AUID, AddressBook } from "../../lib/xcap/addressbook";
import { bridgeSessionCookie, connectBridged, openBridgeSocket } from "../helpers/bridge-client";
import { startHerald, type HeraldProcess } from "../helpers/herald-process";
import { freePort } from "../helpers/ports";
import { SipTestClient, pidf } from "../helpers/sip-client";
import { waitFor } from "../helpers/wait";
import { contactsOf, seedPopulation, userName } from "../bench/population-seed";

const DOMAIN = "example.test";
const PASSWORD = "Population-pass1";
const AUTH_SECRET = "population-seed-test-auth-secret-0123456789";
const ACCOUNTS = 20;
const CONTACTS = 6;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("population seeding", () => {
  it("seeds address books Herald serves, accepts unchanged and resolves into full-state buddy lists over the bridge", async () => {
    const port = await freePort();
    const xcapRoot = `http://localhost:${port}/xcap-root`;
    let ids: number[] = [];
    // two workers: the worker-thread path builds the documents, as the bench does by default
    const herald: HeraldProcess = await startHerald({
      env: { AUTH_SECRET, PORT: String(port) },
      seed: async (db) => void (ids = await seedPopulation(db, { accounts: ACCOUNTS, contacts: CONTACTS, domain: DOMAIN, password: PASSWORD, xcapRoot, batch: 7, workers: 2 })),
    });
    cleanups.push(() => herald.stop());
    expect(ids).toHaveLength(ACCOUNTS);
    const me = userName(0);
    const buddies = contactsOf(0, ACCOUNTS, CONTACTS).map((j) => `sip:${userName(j)}@${DOMAIN}`);
    expect(buddies).toEqual(["sip:u00001@example.test", "sip:u00019@example.test", "sip:u00002@example.test", "sip:u00018@example.test", "sip:u00003@example.test", "sip:u00017@example.test"]);

    // the portal's reader sees the book; each document goes back unchanged through XCAP validation
    const xcap = new XcapClient({ root: `${herald.baseUrl}/xcap-root`, xui: `sip:${me}@${DOMAIN}`, auth: { username: me, ha1: digestHa1(me, DOMAIN, PASSWORD) } });
    const book = await new AddressBook({ client: xcap, xcapRoot }).load();
    expect(book.contacts.map((c) => c.uris[0]!.uri).sort()).toEqual([...buddies].sort());
    expect(book.presence.allowed).toEqual([...buddies].sort());
    for (const auid of [AUID.resourceLists, AUID.rlsServices, AUID.presRules]) {
      const doc = await xcap.getDocument(auid, "index");
      expect(doc, auid).toBeTruthy();
      await expect(xcap.putDocument(auid, "index", doc!.xml, { ifMatch: doc!.etag ?? undefined })).resolves.toBeTruthy();
    }

    // two buddies online (their own address books let u00000 see them)
    for (const b of ["u00001", "u00019"]) {
      const c = await SipTestClient.connect({ host: "127.0.0.1", port: herald.sipPort, user: b, domain: DOMAIN, password: PASSWORD });
      cleanups.push(() => c.close());
      expect((await c.publish(pidf(c.aor, "open", "here"))).status).toBe(200);
    }
    // u00000 through the bridge, as the page: REGISTER, then the buddy list (RFC 4662)
    const ws = await openBridgeSocket(herald.baseUrl, await bridgeSessionCookie(ids[0]!, `${me}@${DOMAIN}`, AUTH_SECRET));
    cleanups.push(() => ws.terminate());
    const ua = await connectBridged(ws, { user: me, domain: DOMAIN, password: PASSWORD, timeoutMs: 20_000 });
    expect((await ua.register(600)).status).toBe(200);
    const { response, sub } = await ua.subscribe(`sip:${me}+presence@${DOMAIN}`, { headers: [["Supported", "eventlist"], ["Accept", "multipart/related, application/rlmi+xml, application/pidf+xml"]] });
    expect(response.status).toBe(200);
    // the page's view: a full-state NOTIFY resets it, partial ones update it (RFC 4662 §4.4)
    const view = () => {
      let members: Map<string, boolean> | undefined;
      for (const n of ua.notifies(sub)) {
        const m = parseMultipartRelated(n.getHeader("Content-Type") ?? "", n.body);
        if (!m.rlmi) continue;
        if (m.rlmi.fullState) members = new Map();
        for (const r of m.rlmi.resources) {
          if (!r.instances.length) continue;
          const open = r.instances.some((inst) => {
            const part = inst.state === "active" && inst.cid ? m.byContentId.get(inst.cid) : undefined;
            return !!part && /basic>\s*open\s*</.test(partText(part));
          });
          members?.set(r.uri, open);
        }
      }
      return members;
    };
    const members = await waitFor(() => {
      const v = view();
      return v && v.size === CONTACTS && v.get("sip:u00001@example.test") && v.get("sip:u00019@example.test") ? v : undefined;
    }, { timeoutMs: 20_000, what: "the buddy list's full state with both online buddies open" });
    expect([...members.keys()].sort()).toEqual([...buddies].sort());
    expect([...members].filter(([, isOpen]) => isOpen).map(([uri]) => uri).sort()).toEqual(["sip:u00001@example.test", "sip:u00019@example.test"]);
  }, 180_000);
});
