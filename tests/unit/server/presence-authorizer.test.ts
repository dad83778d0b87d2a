/** PresenceAuthorizer's per-watcher decision cache: reused while the rules stay, never across a change or a validity window. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { DOMImplementation } from "@xmldom/xmldom";
import { PresenceAuthorizer } from "@/lib/server/presence-authorizer";
import { MemoryXcapStore, computeEtag } from "@/lib/xcap/server";

const ALICE = "sip:alice@example.test";
const BOB = { uri: "sip:bob@example.test", authenticated: true };
const KEY = { auid: "org.openmobilealliance.pres-rules", scope: "users" as const, xui: ALICE, docPath: "index" };

function rules(handling: string, validity = ""): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="r1"><cr:conditions><cr:identity><cr:one id="sip:bob@example.test"/></cr:identity>${validity}</cr:conditions><cr:actions><pr:sub-handling>${handling}</pr:sub-handling></cr:actions></cr:rule>
</cr:ruleset>`;
}

async function put(store: MemoryXcapStore, content: string): Promise<void> {
  const cur = await store.get(KEY);
  await store.put(KEY, { content, etag: await computeEtag(content + Math.random()) }, cur ? cur.etag : null);
}

afterEach(() => vi.useRealTimers());

describe("PresenceAuthorizer decisions", () => {
  it("reads the rules without building xmldom's DOM (the read-only tree)", async () => {
    const store = new MemoryXcapStore();
    await put(store, rules("allow"));
    const documents = vi.spyOn(DOMImplementation.prototype, "createDocument");
    try {
      expect((await new PresenceAuthorizer({ store }).authorize(ALICE, BOB)).subHandling).toBe("allow");
      expect(documents).not.toHaveBeenCalled();
    } finally {
      documents.mockRestore();
    }
  });

  it("answers from the cache while the rules stay and re-evaluates after a change event", async () => {
    const store = new MemoryXcapStore();
    await put(store, rules("allow"));
    const a = new PresenceAuthorizer({ store });
    const first = await a.authorize(ALICE, BOB);
    expect(first.subHandling).toBe("allow");
    expect(await a.authorize(ALICE, BOB)).toBe(first);
    expect((await a.authorize(ALICE, { uri: "sip:carol@example.test", authenticated: true })).subHandling).not.toBe("allow");
    await put(store, rules("block"));
    expect((await a.authorize(ALICE, BOB)).subHandling).toBe("allow"); // no change event yet: cached documents
    a.invalidate({ user: ALICE, auid: KEY.auid, document: "index", etag: "x", previousEtag: null, action: "replace", nodeSelector: null });
    expect((await a.authorize(ALICE, BOB)).subHandling).toBe("block");
  });

  it("hands out one shared object per distinct decision (memory per watcher)", async () => {
    const store = new MemoryXcapStore();
    await put(store, rules("allow"));
    const a = new PresenceAuthorizer({ store });
    const own = { uri: ALICE, authenticated: true };
    expect(await a.authorize(ALICE, own)).toBe(await a.authorize("sip:bob@example.test", { uri: "sip:bob@example.test", authenticated: true }));
    const carol = await a.authorize(ALICE, { uri: "sip:carol@example.test", authenticated: true });
    const dave = await a.authorize(ALICE, { uri: "sip:dave@example.test", authenticated: true });
    expect(carol).toBe(dave);
  });

  it("does not cache decisions of rules with a validity window", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2030-01-01T10:00:00Z"));
    const store = new MemoryXcapStore();
    await put(store, rules("allow", `<cr:validity><cr:from>2030-01-01T09:00:00Z</cr:from><cr:until>2030-01-01T11:00:00Z</cr:until></cr:validity>`));
    const a = new PresenceAuthorizer({ store });
    expect((await a.authorize(ALICE, BOB)).subHandling).toBe("allow");
    vi.setSystemTime(new Date("2030-01-01T12:00:00Z"));
    expect((await a.authorize(ALICE, BOB)).subHandling).not.toBe("allow");
  });
});
