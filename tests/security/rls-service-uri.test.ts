/**
 * ISSUE-11 item 6 on the SIP side: an rls-services document that claims an account's AOR (or a
 * URI derived from another account) — stored before the XCAP server refused such documents —
 * never takes that user's SUBSCRIBEs away from the presence package.
 */
import { afterEach, describe, expect, it } from "vitest";
import { etagOf } from "@/lib/xcap/server/handler";
import type { SipRequest } from "@/lib/sip";
import {
  DOMAIN,
  LIST_HEADERS,
  OMA_RULES,
  bigClient,
  pidfDoc,
  resourceListsXml,
  rlsServicesXml,
  rulesXml,
  serviceUri,
  startRlsServer,
  type RlsXcap,
} from "../integration/server/rls-harness";

const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
const CAROL = `sip:carol@${DOMAIN}`;

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** alice's legacy rls-services: her own list, plus services on bob's AOR and bob's list URI. */
async function legacySquat(xcap: RlsXcap): Promise<void> {
  await xcap.put(ALICE, "resource-lists", resourceListsXml({ sipsimple_presence_rls: [CAROL] }));
  await xcap.put(ALICE, "rls-services", rlsServicesXml(ALICE, "alice"));
  // written straight into the store, as an older Herald accepted it
  const content = `<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services">
  <service uri="${BOB}"><list><entry xmlns="urn:ietf:params:xml:ns:resource-lists" uri="${CAROL}"/></list><packages><package>presence</package></packages></service>
  <service uri="${serviceUri("bob")}"><list><entry xmlns="urn:ietf:params:xml:ns:resource-lists" uri="${CAROL}"/></list></service>
  <service uri="${serviceUri("alice")}"><resource-list>https://xcap.example.test/xcap-root/resource-lists/users/${ALICE}/index/~~/resource-lists/list%5B@name=%22sipsimple_presence_rls%22%5D</resource-list></service>
</rls-services>`;
  const key = { auid: "rls-services", scope: "users" as const, xui: ALICE, docPath: "index" };
  const cur = await xcap.store.get(key);
  const r = await xcap.store.put(key, { content, etag: etagOf(content), serviceUris: [BOB, serviceUri("bob"), serviceUri("alice")] }, cur!.etag);
  expect(r.ok).toBe(true);
}

describe("RLS routing never takes an account's SUBSCRIBEs (legacy squatting documents)", () => {
  it("a SUBSCRIBE to bob's AOR reaches the presence package, with or without eventlist; alice's own list still works", async () => {
    const s = await startRlsServer();
    cleanup.push(() => s.stop());
    await legacySquat(s.xcap);
    await s.xcap.put(BOB, OMA_RULES, rulesXml(BOB, [{ id: "a", identities: [CAROL], handling: "allow" }]));
    const bob = await bigClient(s.port, "bob");
    cleanup.push(() => bob.close());
    expect((await bob.publish(pidfDoc(BOB, "open", "Bob is here"))).status).toBe(200);
    const carol = await bigClient(s.port, "carol");
    cleanup.push(() => carol.close());

    // without eventlist: today 421 Extension Required
    const plain = await carol.subscribe(BOB);
    expect(plain.response.status).toBe(200);
    const n1 = await carol.waitForNotify((n: SipRequest) => /open/.test(new TextDecoder().decode(n.body)), { sub: plain.sub });
    expect(n1.getHeader("Content-Type")).toBe("application/pidf+xml");
    expect(n1.getHeader("Require")).toBeUndefined();

    // with eventlist (what a list-capable client sends): today 403 "Only the list's owner may subscribe"
    const listy = await carol.subscribe(BOB, { headers: LIST_HEADERS });
    expect(listy.response.status).toBe(200);
    expect(listy.response.getHeader("Require")).toBeUndefined();
    const n2 = await carol.waitForNotify((n: SipRequest) => (n.getHeader("Content-Type") ?? "") === "application/pidf+xml" && /Bob is here/.test(new TextDecoder().decode(n.body)), { sub: listy.sub });
    expect(n2.getHeader("Subscription-State")).toMatch(/^active/);

    // the service on bob's derived list URI is not alice's either: no 403 from the RLS
    const bobsList = await bob.subscribe(serviceUri("bob"), { headers: LIST_HEADERS });
    expect(bobsList.response.status).toBe(404);

    // alice's own list service is untouched
    const alice = await bigClient(s.port, "alice");
    cleanup.push(() => alice.close());
    const list = await alice.subscribe(serviceUri("alice"), { headers: LIST_HEADERS });
    expect(list.response.status).toBe(200);
    expect(list.response.getHeader("Require")).toBe("eventlist");
  });
});
