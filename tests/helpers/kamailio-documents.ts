/**
 * XCAP documents for interop tests and benchmarks against Kamailio (and Herald): plain RFC 4826 /
 * RFC 5025 documents, the Blink layout through lib/xcap/addressbook, and the inline-identity form of
 * a Blink policy that Kamailio can evaluate.
 *
 * Kamailio's presence_xml evaluates pres-rules first-match-wins, skips rules without <identity>,
 * and ignores OMA external-list / other-identity / anonymous-request, so Blink's `wp_prs_*` rules do
 * nothing there; `inlinePresRulesXml()` expands an address book into `<identity><one id=…>` rules.
 */
import { escapeXml } from "../../lib/xml";
import type { AddressBook, AddressBookModel, NewContact } from "../../lib/xcap/addressbook";
import type { XcapClient } from "../../lib/xcap/client";

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
const attr = (s: string) => escapeXml(s).replace(/"/g, "&quot;");

export interface ListEntry {
  uri: string;
  name?: string;
}

/** resource-lists with named top-level lists (RFC 4826 §3). */
export function resourceListsXml(lists: Record<string, ListEntry[]>): string {
  let out = `${XML_DECL}<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">\n`;
  for (const [name, entries] of Object.entries(lists)) {
    out += `  <list name="${attr(name)}">\n`;
    for (const e of entries) {
      out += e.name
        ? `    <entry uri="${attr(e.uri)}">\n      <display-name>${escapeXml(e.name)}</display-name>\n    </entry>\n`
        : `    <entry uri="${attr(e.uri)}"/>\n`;
    }
    out += "  </list>\n";
  }
  return out + "</resource-lists>\n";
}

/** `count` contacts `sip:<prefix>NNN@<domain>` with display names (benchmarks, big lists). */
export function numberedContacts(count: number, domain = "example.test", prefix = "buddy"): ListEntry[] {
  return Array.from({ length: count }, (_, i) => {
    const n = String(i + 1).padStart(4, "0");
    return { uri: `sip:${prefix}${n}@${domain}`, name: `Buddy ${n}` };
  });
}

export interface RlsService {
  uri: string;
  /** inline list entries */
  entries?: ListEntry[];
  /** or a `resource-list` reference: absolute XCAP node URI of a resource-lists list */
  resourceList?: string;
  packages?: string[];
}

/** rls-services (RFC 4826 §4). */
export function rlsServicesXml(services: RlsService[]): string {
  let out = `${XML_DECL}<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists">\n`;
  for (const s of services) {
    out += `  <service uri="${attr(s.uri)}">\n`;
    if (s.resourceList) out += `    <resource-list>${escapeXml(s.resourceList)}</resource-list>\n`;
    else {
      out += "    <list>\n";
      for (const e of s.entries ?? []) {
        out += e.name
          ? `      <rl:entry uri="${attr(e.uri)}"><rl:display-name>${escapeXml(e.name)}</rl:display-name></rl:entry>\n`
          : `      <rl:entry uri="${attr(e.uri)}"/>\n`;
      }
      out += "    </list>\n";
    }
    out += `    <packages>\n${(s.packages ?? ["presence"]).map((p) => `      <package>${escapeXml(p)}</package>\n`).join("")}    </packages>\n  </service>\n`;
  }
  return out + "</rls-services>\n";
}

/**
 * The XCAP node URI Blink writes into `resource-list` elements:
 * `<root>/resource-lists/users/<xui>/index/~~/resource-lists/list%5B@name=%22<name>%22%5D`.
 */
export function resourceListNodeUri(xcapRoot: string, xui: string, listName: string, document = "index"): string {
  return `${xcapRoot.replace(/\/+$/, "")}/resource-lists/users/${xui}/${document}/~~/resource-lists/list%5B@name=%22${encodeURIComponent(listName)}%22%5D`;
}

export type SubHandling = "allow" | "confirm" | "polite-block" | "block";

export interface InlineRule {
  id: string;
  /** watcher URIs (`<identity><one id=…>`); Kamailio skips a rule with none */
  identities: string[];
  subHandling: SubHandling;
  /** add provide-services/persons/devices/all-attributes (what an "allow" needs to show anything); default true for allow */
  provideAll?: boolean;
}

/** IETF pres-rules (RFC 5025) with inline identity conditions — the form Kamailio evaluates. */
export function presRulesXml(rules: InlineRule[]): string {
  let out = `${XML_DECL}<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">\n`;
  for (const r of rules) {
    out += `  <cp:rule id="${attr(r.id)}">\n    <cp:conditions>\n      <cp:identity>\n`;
    for (const id of r.identities) out += `        <cp:one id="${attr(id)}"/>\n`;
    out += `      </cp:identity>\n    </cp:conditions>\n    <cp:actions>\n      <pr:sub-handling>${r.subHandling}</pr:sub-handling>\n    </cp:actions>\n`;
    if (r.provideAll ?? r.subHandling === "allow") {
      out +=
        "    <cp:transformations>\n" +
        "      <pr:provide-services><pr:all-services/></pr:provide-services>\n" +
        "      <pr:provide-persons><pr:all-persons/></pr:provide-persons>\n" +
        "      <pr:provide-devices><pr:all-devices/></pr:provide-devices>\n" +
        "      <pr:provide-all-attributes/>\n" +
        "    </cp:transformations>\n";
    }
    out += "  </cp:rule>\n";
  }
  return out + "</cp:ruleset>\n";
}

/**
 * A Blink address book's presence policy as inline-identity rules Kamailio can evaluate: blocked
 * URIs first (first match wins there), then allowed ones. The default policy for unknown watchers
 * cannot be expressed (no catch-all in Kamailio): unknown watchers stay pending (confirm).
 */
export function inlinePresRulesXml(model: AddressBookModel, opts: { owner?: string } = {}): string {
  const rules: InlineRule[] = [];
  if (model.presence.blocked.length) rules.push({ id: "herald_blocked", identities: model.presence.blocked, subHandling: "polite-block" });
  const allowed = [...model.presence.allowed, ...(opts.owner ? [opts.owner] : [])];
  if (allowed.length) rules.push({ id: "herald_allowed", identities: allowed, subHandling: "allow" });
  return presRulesXml(rules);
}

/** pidf-manipulation (RFC 4827): the user's offline status and note. */
export function pidfManipulationXml(entity: string, basic: "open" | "closed", note?: string): string {
  return (
    `${XML_DECL}<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${attr(entity)}">\n` +
    `  <tuple id="offline">\n    <status><basic>${basic}</basic></status>\n` +
    (note ? `    <note>${escapeXml(note)}</note>\n` : "") +
    "  </tuple>\n</presence>\n"
  );
}

/**
 * Write what a Blink client would: contacts through the AddressBook (resource-lists, rls-services
 * `sip:<user>+presence@<domain>` → `sipsimple_presence_rls`, OMA pres-rules `wp_prs_*`). With
 * `kamailioRules`, also an IETF `pres-rules/index` document with the same policy as inline
 * identities, so Kamailio enforces it (Kamailio reads the first pres-rules document of the user, in
 * creation order: this one is written before Blink's OMA document exists unless it already did).
 */
export async function seedBlinkAddressBook(
  book: AddressBook,
  contacts: NewContact[],
  opts: { kamailioRules?: boolean } = {},
): Promise<AddressBookModel> {
  let model = (await book.load()) as AddressBookModel;
  if (opts.kamailioRules) await writeInlinePresRules(book.client, model);
  for (const c of contacts) await book.addContact(c);
  model = await book.normalize();
  if (opts.kamailioRules) await writeInlinePresRules(book.client, model);
  return model;
}

/** PUT `pres-rules/index` with the model's policy as inline identities (see inlinePresRulesXml). */
export async function writeInlinePresRules(client: XcapClient, model: AddressBookModel): Promise<void> {
  await client.putDocument("pres-rules", "index", inlinePresRulesXml(model, { owner: client.xui }));
}
