/**
 * Set-up for the RLS integration tests and the RLS benchmark: a PresenceServer with the
 * ResourceListServer, documents written through Herald's real XCAP core (so rls-services are
 * validated and their service URIs indexed, exactly as the portal's writes are), and a raw SIP
 * client whose framer accepts the large NOTIFYs of a 500-resource list.
 */
import { spawnSync } from "node:child_process";
import { MemoryAccountDirectory, MemoryPresenceStateStore, PresenceServer, type PresenceServerOptions } from "@/lib/server";
import { ResourceListServer, type ResourceListServerOptions } from "@/lib/server/rls";
import { parseMultipartRelated, partText, type MultipartRelated } from "@/lib/presence";
import { SipStreamParser, type SipRequest } from "@/lib/sip";
import { MemoryXcapStore, handleXcapRequest, type XcapChangeEvent, type XcapStore } from "@/lib/xcap/server";
import { SipTestClient, type SipTestClientOptions } from "../../helpers/sip-client";
import { requirePythonEmail } from "../../helpers/tools";

export const DOMAIN = "example.test";
export const PASSWORD = "secret-password";
export const SECRET = "ephemeral-secret-0123456789";
export const XCAP_ROOT = "https://xcap.example.test/xcap-root";
export const OMA_RULES = "org.openmobilealliance.pres-rules";

const MIME: Record<string, string> = {
  "resource-lists": "application/resource-lists+xml",
  "rls-services": "application/rls-services+xml",
  [OMA_RULES]: "application/auth-policy+xml",
  "pres-rules": "application/auth-policy+xml",
  "pidf-manipulation": "application/pidf+xml",
};

/** XCAP documents written through the real XCAP core, with change events fanned out. */
export class RlsXcap {
  /** A memory store by default; pass a database-backed one to test Herald's own wiring. */
  constructor(readonly store: XcapStore = new MemoryXcapStore()) {}

  private readonly listeners = new Set<(e: XcapChangeEvent) => void>();
  subscribe = (l: (e: XcapChangeEvent) => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  async put(user: string, auid: string, content: string, docPath = "index"): Promise<void> {
    const res = await handleXcapRequest(
      {
        method: "PUT",
        path: `${auid}/users/${user}/${docPath}`,
        headers: { "content-type": MIME[auid] },
        body: new TextEncoder().encode(content),
        user: { aor: user },
        rootUri: XCAP_ROOT,
      },
      this.store,
      { onChange: (e) => this.listeners.forEach((l) => l(e)) },
    );
    if (res.status >= 300) throw new Error(`XCAP PUT ${auid} for ${user}: ${res.status} ${new TextDecoder().decode(res.body)}`);
  }
}

/** Python's urllib.parse.quote(s) (safe "/"), as python-sipsimple writes every anyURI. */
export function blinkQuote(s: string): string {
  return s.replace(/[^A-Za-z0-9_.\-~/]/g, (c) =>
    [...new TextEncoder().encode(c)].map((b) => "%" + b.toString(16).toUpperCase().padStart(2, "0")).join(""),
  );
}

export function serviceUri(user: string): string {
  return `sip:${user}+presence@${DOMAIN}`;
}

/** XCAP URI of one of `owner`'s named lists (what lib/xcap/addressbook writes, percent-encoded selector). */
export function listRef(owner: string, name: string): string {
  return `${XCAP_ROOT}/resource-lists/users/${owner}/index/~~/resource-lists/list%5B@name=%22${name}%22%5D`;
}

/** Blink's rls-services: one presence service pointing at `sipsimple_presence_rls`, everything quoted. */
export function rlsServicesXml(owner: string, user: string, listName = "sipsimple_presence_rls"): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists">
  <service uri="${blinkQuote(serviceUri(user))}">
    <resource-list>${blinkQuote(listRef(owner, listName))}</resource-list>
    <packages><package>presence</package></packages>
  </service>
</rls-services>`;
}

export function resourceListsXml(lists: Record<string, string[]>): string {
  const body = Object.entries(lists)
    .map(([name, uris]) => `  <list name="${name}">\n${uris.map((u) => `    <entry uri="${blinkQuote(u)}"/>`).join("\n")}\n  </list>`)
    .join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">\n${body}\n</resource-lists>`;
}

export function rulesXml(owner: string, rules: Array<{ id: string; identities: string[]; handling: "allow" | "confirm" | "block" | "polite-block" }>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="wp_prs_allow_own"><cr:conditions><cr:identity><cr:one id="${owner}"/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
${rules.map((r) => `  <cr:rule id="${r.id}"><cr:conditions><cr:identity>${r.identities.map((i) => `<cr:one id="${i}"/>`).join("")}</cr:identity></cr:conditions><cr:actions><pr:sub-handling>${r.handling}</pr:sub-handling></cr:actions></cr:rule>`).join("\n")}
</cr:ruleset>`;
}

export function accountsFor(users: string[], domain = DOMAIN, directory = new MemoryAccountDirectory()): MemoryAccountDirectory {
  const d = directory.addDomain(domain);
  for (const u of users) d.addAccount(u, domain, PASSWORD);
  return d;
}

export interface RlsServerOptions {
  users?: string[];
  xcap?: RlsXcap;
  state?: MemoryPresenceStateStore;
  accounts?: MemoryAccountDirectory;
  server?: Partial<PresenceServerOptions>;
  rls?: Partial<ResourceListServerOptions>;
  port?: number;
}

export async function startRlsServer(o: RlsServerOptions = {}) {
  const xcap = o.xcap ?? new RlsXcap();
  const state = o.state ?? new MemoryPresenceStateStore();
  const server = new PresenceServer({
    listen: { host: "127.0.0.1", tcpPort: o.port ?? 0 },
    accounts: o.accounts ?? accountsFor(o.users ?? ["alice", "bob", "carol", "dave", "erin"]),
    ephemeralSecret: SECRET,
    xcap: { store: xcap.store, subscribe: xcap.subscribe },
    state,
    notifyIntervalMs: 0,
    persistDelayMs: 20,
    maxMessageSize: 4 * 1024 * 1024,
    ...o.server,
  });
  const rls = new ResourceListServer({ server, store: xcap.store, subscribe: xcap.subscribe, ...o.rls });
  const addr = await server.start();
  await rls.start();
  return {
    server,
    rls,
    xcap,
    state,
    port: addr.tcp!.port,
    async stop() {
      rls.stop();
      await server.stop();
    },
  };
}

/** A SipTestClient whose framer accepts NOTIFYs up to 8 MiB (500-resource lists). */
export async function bigClient(port: number, user: string, extra: Partial<SipTestClientOptions> = {}): Promise<SipTestClient> {
  const c = new SipTestClient({ host: "127.0.0.1", port, user, domain: DOMAIN, password: PASSWORD, ...extra });
  const internals = c as unknown as { parser: SipStreamParser; open(): Promise<void> };
  internals.parser = new SipStreamParser({ maxMessageSize: 8 * 1024 * 1024 });
  await internals.open();
  return c;
}

export const LIST_HEADERS: Array<[string, string]> = [
  ["Supported", "eventlist"],
  ["Accept", "multipart/related, application/rlmi+xml, application/pidf+xml"],
];

export function pidfDoc(entity: string, basic: "open" | "closed", note?: string, tupleId = "t1"): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${entity}"><tuple id="${tupleId}"><status><basic>${basic}</basic></status>${note ? `<note>${note}</note>` : ""}</tuple></presence>`;
}

/** Herald's parse of a list NOTIFY. */
export function parseListNotify(n: SipRequest): MultipartRelated {
  const ct = n.getHeader("Content-Type");
  if (!ct) throw new Error("NOTIFY without a body");
  return parseMultipartRelated(ct, n.body);
}

export interface InstanceView {
  uri: string;
  state?: string;
  reason?: string;
  cid?: string;
  pidf?: string;
}

/** Resources of a list NOTIFY: uri → instance state and the PIDF text of its part. */
export function instances(mp: MultipartRelated): Map<string, InstanceView> {
  const out = new Map<string, InstanceView>();
  for (const r of mp.rlmi!.resources) {
    const i = r.instances[0];
    const part = i?.cid ? mp.byContentId.get(i.cid) : undefined;
    out.set(r.uri, { uri: r.uri, state: i?.state, reason: i?.reason, cid: i?.cid, pidf: part ? partText(part) : undefined });
  }
  return out;
}

/**
 * Parse a multipart/related body with Python's standard `email` package — a MIME parser not
 * written for this project (no third-party multipart parser is installed in node_modules).
 */
export function pythonMultipart(contentType: string, body: Uint8Array): { type: string; start: string | null; parts: Array<{ contentId: string | null; contentType: string; body: string }> } {
  const script = `
import sys, json, email, email.policy
raw = sys.stdin.buffer.read()
msg = email.message_from_bytes(raw, policy=email.policy.compat32)
assert msg.is_multipart(), "not multipart"
out = {"type": msg.get_param("type"), "start": msg.get_param("start"), "parts": []}
for p in msg.get_payload():
    out["parts"].append({"contentId": p.get("Content-ID"), "contentType": p.get("Content-Type"), "body": p.get_payload(decode=True).decode("utf-8")})
print(json.dumps(out))
`;
  const head = Buffer.from(`Content-Type: ${contentType}\r\nMIME-Version: 1.0\r\n\r\n`);
  const r = spawnSync(requirePythonEmail(), ["-c", script], { input: Buffer.concat([head, Buffer.from(body)]), maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`python email parser failed: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString());
}
