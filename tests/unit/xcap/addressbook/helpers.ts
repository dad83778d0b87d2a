import { readFileSync } from "node:fs";
import { childElements, childrenNS, firstChildNS, parseXml, serializeXml, textOf, type XmlDocument, type XmlElement } from "../../../../lib/xml";
import { NS, decodeAnyUri, type AddressBookContext } from "../../../../lib/xcap/addressbook";

export const FIXTURES = new URL("../../../fixtures/xcap/blink/", import.meta.url);
export const X_NS = "urn:example:portal-x";
export const ROOT = "https://xcap.example.test/xcap-root";
export const CTX: AddressBookContext = { xui: "sip:alice@example.test", xcapRoot: ROOT };

export function fixture(name: "resource-lists.xml" | "rls-services.xml" | "pres-rules.xml"): string {
  return readFileSync(new URL(name, FIXTURES), "utf8");
}

export function fixtureDoc(name: "resource-lists.xml" | "rls-services.xml" | "pres-rules.xml"): XmlDocument {
  return parseXml(fixture(name));
}

export function list(doc: XmlDocument, name: string): XmlElement {
  const l = childrenNS(doc.documentElement, NS.resourceLists, "list").find((e) => e.getAttribute("name") === name);
  if (!l) throw new Error(`no list ${name}`);
  return l;
}

export function entries(doc: XmlDocument, name: string): string[] {
  return childrenNS(list(doc, name), NS.resourceLists, "entry")
    .map((e) => decodeAnyUri(e.getAttribute("uri")))
    .sort();
}

export function listNames(doc: XmlDocument): string[] {
  return childrenNS(doc.documentElement, NS.resourceLists, "list").map((e) => e.getAttribute("name")!);
}

/** The list URI as Herald writes it (RFC 3986, node selector percent-encoded). */
export function listUri(name: string): string {
  return `${ROOT}/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22${name}%22%5D`;
}

/** The list URI as python-sipsimple computes it before quoting (what both sides compare). */
export function blinkListUri(name: string): string {
  return `${ROOT}/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list[@name="${name}"]`;
}

/** Every element in namespace X_NS and every attribute in it, as "path" strings, for preservation checks. */
export function unknownContent(doc: XmlDocument): string[] {
  const out: string[] = [];
  const walk = (el: XmlElement, path: string) => {
    const here = `${path}/${el.localName}${el.getAttribute("name") ? `[${el.getAttribute("name")}]` : el.getAttribute("id") ? `[${el.getAttribute("id")}]` : ""}`;
    for (const a of Array.from(el.attributes)) if (a.namespaceURI === X_NS) out.push(`${here}@${a.localName}=${a.value}`);
    if (el.namespaceURI === X_NS) out.push(`${here}=${serializeXml(el).replace(/\s+xmlns:\w+="[^"]*"/g, "")}`);
    for (const c of childElements(el)) walk(c, here);
  };
  walk(doc.documentElement, "");
  return out.sort();
}

export function rule(doc: XmlDocument, id: string): XmlElement | undefined {
  return childrenNS(doc.documentElement, NS.commonPolicy, "rule").find((r) => r.getAttribute("id") === id);
}

export function ruleIds(doc: XmlDocument): string[] {
  return childrenNS(doc.documentElement, NS.commonPolicy, "rule").map((r) => r.getAttribute("id")!);
}

export function subHandling(doc: XmlDocument, id: string): string[] {
  const actions = firstChildNS(rule(doc, id)!, NS.commonPolicy, "actions")!;
  return childrenNS(actions, NS.presRules, "sub-handling").map((s) => textOf(s)!);
}

export function service(doc: XmlDocument, uri: string): XmlElement | undefined {
  return childrenNS(doc.documentElement, NS.rlsServices, "service").find((s) => decodeAnyUri(s.getAttribute("uri")) === uri);
}
