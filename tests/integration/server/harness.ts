/** Shared set-up for the presence server integration tests: accounts, XCAP store, change events. */
import { MemoryAccountDirectory, PresenceServer, type PresenceServerOptions } from "@/lib/server";
import { MemoryXcapStore, computeEtag, type XcapChangeEvent } from "@/lib/xcap/server";
import { SipTestClient } from "../../helpers/sip-client";

export const DOMAIN = "example.test";
export const PASSWORD = "secret-password";
export const SECRET = "ephemeral-secret-0123456789";

export class XcapFixture {
  readonly store = new MemoryXcapStore();
  private listeners = new Set<(e: XcapChangeEvent) => void>();
  subscribe = (l: (e: XcapChangeEvent) => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
  async put(user: string, auid: string, content: string, docPath = "index"): Promise<void> {
    const key = { auid, scope: "users" as const, xui: user, docPath };
    const cur = await this.store.get(key);
    const etag = await computeEtag(content + Date.now() + Math.random());
    const r = await this.store.put(key, { content, etag }, cur ? cur.etag : null);
    if (!r.ok) throw new Error("put failed");
    for (const l of this.listeners) l({ user, auid, document: docPath, etag, previousEtag: cur?.etag ?? null, action: cur ? "replace" : "create", nodeSelector: null });
  }
  async remove(user: string, auid: string, docPath = "index"): Promise<void> {
    const key = { auid, scope: "users" as const, xui: user, docPath };
    const cur = await this.store.get(key);
    if (!cur) return;
    await this.store.delete(key, cur.etag);
    for (const l of this.listeners) l({ user, auid, document: docPath, etag: null, previousEtag: cur.etag, action: "delete", nodeSelector: null });
  }
}

export function accounts(): MemoryAccountDirectory {
  const d = new MemoryAccountDirectory().addDomain(DOMAIN);
  for (const u of ["alice", "bob", "carol", "dave"]) d.addAccount(u, DOMAIN, PASSWORD);
  return d;
}

export async function startServer(overrides: Partial<PresenceServerOptions> = {}, xcap = new XcapFixture()) {
  const server = new PresenceServer({
    listen: { host: "127.0.0.1", tcpPort: 0 },
    accounts: accounts(),
    ephemeralSecret: SECRET,
    xcap: { store: xcap.store, subscribe: xcap.subscribe },
    notifyIntervalMs: 0,
    persistDelayMs: 20,
    ...overrides,
  });
  const addr = await server.start();
  return { server, xcap, port: addr.tcp!.port, tlsPort: addr.tls?.port };
}

export function client(port: number, user: string, extra: Partial<ConstructorParameters<typeof SipTestClient>[0]> = {}): Promise<SipTestClient> {
  return SipTestClient.connect({ host: "127.0.0.1", port, user, domain: DOMAIN, password: PASSWORD, ...extra });
}

export function allowRules(owner: string, allowed: string[], handling = "allow"): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="wp_prs_allow_own"><cr:conditions><cr:identity><cr:one id="${owner}"/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
  <cr:rule id="r1"><cr:conditions><cr:identity>${allowed.map((a) => `<cr:one id="${a}"/>`).join("")}</cr:identity></cr:conditions><cr:actions><pr:sub-handling>${handling}</pr:sub-handling></cr:actions></cr:rule>
</cr:ruleset>`;
}
