/**
 * XCAP node selectors (RFC 4825 §6.3): parsing and evaluation against a DOM.
 *
 *   node-selector     = element-selector ["/" terminal-selector]
 *   step              = by-name / by-pos / by-attr / by-pos-attr
 *   terminal-selector = attribute-selector ("@" name) / namespace-selector ("namespace::*")
 *
 * Unprefixed element names are in the application usage's default namespace (§6.3); prefixes
 * are bound by the `xmlns(p=urn)` query component (§6.4). Unprefixed attribute names have no
 * namespace, as in XPath.
 */
import { XcapError } from "./errors";
import { XML_NAMESPACE, type XmlDocument, type XmlElement } from "../xml";

export interface QName {
  prefix: string | null;
  local: string;
}

export interface NodeSelectorStep {
  /** Element name, or "*" for any element. */
  name: QName | "*";
  /** 1-based position among the siblings matching `name` (XPath `name[n]`). */
  position?: number;
  /** Attribute equality test `[@attr="value"]`, applied after the position. */
  attr?: { name: QName; value: string };
}

export type TerminalSelector = { kind: "attribute"; name: QName } | { kind: "namespace" };

export interface NodeSelector {
  steps: NodeSelectorStep[];
  terminal: TerminalSelector | null;
}

/** Namespace context for evaluating a selector. */
export interface SelectorNamespaces {
  /** Prefix → namespace URI from the `xmlns()` query component. */
  bindings: ReadonlyMap<string, string>;
  /** Default document namespace of the application usage (RFC 4825 §5.2). */
  defaultNamespace: string;
}

const NCNAME_RE = /^[A-Za-z_\u00C0-\uFFEF][A-Za-z0-9_.\-\u00B7-\uFFEF]*$/;
const POSITION_RE = /^[1-9][0-9]{0,8}$/;
const XMLNS_QUERY_RE = /xmlns\(\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*([^)]*)\)/gy;

function bad(message: string): XcapError {
  return new XcapError(400, `invalid node selector: ${message}`);
}

export function parseQName(text: string): QName {
  const colon = text.indexOf(":");
  const prefix = colon >= 0 ? text.slice(0, colon) : null;
  const local = colon >= 0 ? text.slice(colon + 1) : text;
  if (!NCNAME_RE.test(local) || (prefix !== null && !NCNAME_RE.test(prefix))) throw bad(`bad name "${text}"`);
  return { prefix, local };
}

export function formatQName(q: QName | "*"): string {
  return q === "*" ? "*" : q.prefix ? `${q.prefix}:${q.local}` : q.local;
}

/** Decode the entity and character references allowed in an XML AttValue; undefined if malformed. */
export function decodeAttValue(raw: string): string | undefined {
  if (raw.includes("<")) return undefined;
  let bad = false;
  const out = raw.replace(/&([^;]*);?/g, (m, name: string) => {
    if (!m.endsWith(";")) {
      bad = true;
      return "";
    }
    switch (name) {
      case "amp":
        return "&";
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "quot":
        return '"';
      case "apos":
        return "'";
    }
    const num = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(name);
    if (num) {
      const cp = num[1] !== undefined ? parseInt(num[1], 16) : parseInt(num[2]!, 10);
      if (cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0x10ffff && cp !== 0xfffe && cp !== 0xffff)) {
        return String.fromCodePoint(cp);
      }
    }
    bad = true;
    return "";
  });
  return bad ? undefined : out;
}

/** Split on "/" outside quotes and brackets. */
function splitSteps(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | null = null;
  let depth = 0;
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = null;
      cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
    } else if (ch === "[") {
      depth++;
      cur += ch;
    } else if (ch === "]") {
      depth--;
      if (depth < 0) throw bad("unbalanced ]");
      cur += ch;
    } else if (ch === "/" && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (quote || depth !== 0) throw bad("unterminated predicate or quote");
  out.push(cur);
  return out;
}

function parseStep(text: string): NodeSelectorStep {
  const bracket = text.indexOf("[");
  const nameText = bracket >= 0 ? text.slice(0, bracket) : text;
  const step: NodeSelectorStep = { name: nameText === "*" ? "*" : parseQName(nameText) };
  let rest = bracket >= 0 ? text.slice(bracket) : "";
  while (rest.length > 0) {
    if (rest[0] !== "[") throw bad(`unexpected "${rest}"`);
    // find the matching "]" outside quotes
    let i = 1;
    let quote: string | null = null;
    for (; i < rest.length; i++) {
      const ch = rest[i]!;
      if (quote) {
        if (ch === quote) quote = null;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === "]") break;
    }
    if (i >= rest.length) throw bad("unterminated predicate");
    const pred = rest.slice(1, i);
    rest = rest.slice(i + 1);
    if (POSITION_RE.test(pred)) {
      if (step.position !== undefined || step.attr) throw bad("position must come first and once");
      step.position = Number(pred);
      continue;
    }
    const m = /^@([^=\s]+)\s*=\s*(?:"([^"]*)"|'([^']*)')$/.exec(pred);
    if (!m) throw bad(`unsupported predicate [${pred}]`);
    if (step.attr) throw bad("only one attribute test per step");
    const value = decodeAttValue(m[2] ?? m[3] ?? "");
    if (value === undefined) throw bad("bad attribute value");
    step.attr = { name: parseQName(m[1]!), value };
  }
  return step;
}

/** Parse a (percent-decoded) node selector. Throws XcapError(400). */
export function parseNodeSelector(text: string): NodeSelector {
  if (!text) throw bad("empty");
  const parts = splitSteps(text);
  if (parts.some((p) => p === "")) throw bad("empty step");
  let terminal: TerminalSelector | null = null;
  const last = parts[parts.length - 1]!;
  if (last === "namespace::*") {
    terminal = { kind: "namespace" };
    parts.pop();
  } else if (last.startsWith("@")) {
    terminal = { kind: "attribute", name: parseQName(last.slice(1)) };
    parts.pop();
  }
  if (parts.length === 0) throw bad("no element step");
  const steps = parts.map(parseStep);
  return { steps, terminal };
}

/** Serialize selector steps back to text (used for ancestors in no-parent errors). */
export function formatSteps(steps: readonly NodeSelectorStep[]): string {
  return steps
    .map((s) => {
      let t = formatQName(s.name);
      if (s.position !== undefined) t += `[${s.position}]`;
      if (s.attr) t += `[@${formatQName(s.attr.name)}="${s.attr.value.replace(/&/g, "&amp;").replace(/"/g, "&quot;")}"]`;
      return t;
    })
    .join("/");
}

/** Parse the query component's `xmlns(prefix=uri)` pointer parts (RFC 4825 §6.4). */
export function parseXmlnsQuery(query: string): Map<string, string> {
  const out = new Map<string, string>();
  const q = query.replace(/^\?/, "");
  if (!q) return out;
  let decoded: string;
  try {
    decoded = decodeURIComponent(q);
  } catch {
    throw new XcapError(400, "malformed percent-encoding in query");
  }
  XMLNS_QUERY_RE.lastIndex = 0;
  let pos = 0;
  for (;;) {
    while (pos < decoded.length && /\s/.test(decoded[pos]!)) pos++;
    if (pos >= decoded.length) break;
    XMLNS_QUERY_RE.lastIndex = pos;
    const m = XMLNS_QUERY_RE.exec(decoded);
    if (!m) throw new XcapError(400, "query component must be xmlns() bindings");
    out.set(m[1]!, m[2]!.trim());
    pos = XMLNS_QUERY_RE.lastIndex;
  }
  return out;
}

function resolveElementNs(q: QName, ns: SelectorNamespaces): string {
  if (q.prefix === null) return ns.defaultNamespace;
  const uri = ns.bindings.get(q.prefix);
  if (uri === undefined) throw new XcapError(400, `namespace prefix "${q.prefix}" is not bound in the query`);
  return uri;
}

/** Attribute name → namespace (null for unprefixed). */
export function resolveAttributeNs(q: QName, ns: SelectorNamespaces): string | null {
  if (q.prefix === null) return null;
  if (q.prefix === "xml") return XML_NAMESPACE;
  const uri = ns.bindings.get(q.prefix);
  if (uri === undefined) throw new XcapError(400, `namespace prefix "${q.prefix}" is not bound in the query`);
  return uri;
}

/** Check every prefix in the selector is bound (so errors are 400 before any lookup). */
export function checkSelectorBindings(sel: NodeSelector, ns: SelectorNamespaces): void {
  for (const s of sel.steps) {
    if (s.name !== "*") resolveElementNs(s.name, ns);
    if (s.attr) resolveAttributeNs(s.attr.name, ns);
  }
  if (sel.terminal?.kind === "attribute") resolveAttributeNs(sel.terminal.name, ns);
}

export function getAttr(el: XmlElement, ns: string | null, local: string): string | null {
  if (ns === null) {
    // unprefixed attribute: no namespace
    for (let i = 0; i < el.attributes.length; i++) {
      const a = el.attributes[i]!;
      if (!a.namespaceURI && (a.localName ?? a.name) === local && !a.name.includes(":")) return a.value;
    }
    return null;
  }
  const a = el.getAttributeNodeNS(ns, local);
  return a ? a.value : null;
}

function elementChildren(node: { firstChild: ChildNode | null }): XmlElement[] {
  const out: XmlElement[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) out.push(c as XmlElement);
  return out;
}

/** Elements among `parent`'s children that match the step's name (before position/attribute). */
export function nameMatches(parent: { firstChild: ChildNode | null }, step: NodeSelectorStep, ns: SelectorNamespaces): XmlElement[] {
  const kids = elementChildren(parent);
  if (step.name === "*") return kids;
  const uri = resolveElementNs(step.name, ns);
  const local = step.name.local;
  return kids.filter((e) => (e.namespaceURI ?? "") === uri && e.localName === local);
}

/** Apply one step to a context node: the elements it selects (at most two: more is "ambiguous" too). */
export function applyStep(parent: { firstChild: ChildNode | null }, step: NodeSelectorStep, ns: SelectorNamespaces): XmlElement[] {
  // one pass over the children, no intermediate arrays (a 200-entry list is walked per request)
  const uri = step.name === "*" ? null : resolveElementNs(step.name, ns);
  const local = step.name === "*" ? null : step.name.local;
  const ans = step.attr ? resolveAttributeNs(step.attr.name, ns) : null;
  const out: XmlElement[] = [];
  let n = 0;
  for (let c = parent.firstChild; c; c = c.nextSibling) {
    if (c.nodeType !== 1) continue;
    const e = c as XmlElement;
    if (uri !== null && ((e.namespaceURI ?? "") !== uri || e.localName !== local)) continue;
    n++;
    if (step.position !== undefined && n !== step.position) continue;
    if (step.attr && getAttr(e, ans, step.attr.name.local) !== step.attr.value) continue;
    out.push(e);
    if (out.length > 1 || step.position !== undefined) break;
  }
  return out;
}

export type ElementSelection =
  | { kind: "found"; element: XmlElement }
  | { kind: "none"; /** number of leading steps that selected exactly one element */ matched: number }
  | { kind: "ambiguous"; matched: number };

/** Evaluate element steps from the document node (the first step selects the root element). */
export function selectElement(doc: XmlDocument, steps: readonly NodeSelectorStep[], ns: SelectorNamespaces): ElementSelection {
  let ctx: { firstChild: ChildNode | null } = doc;
  for (let i = 0; i < steps.length; i++) {
    const found = applyStep(ctx, steps[i]!, ns);
    if (found.length === 0) return { kind: "none", matched: i };
    if (found.length > 1) return { kind: "ambiguous", matched: i };
    ctx = found[0]!;
  }
  if (steps.length === 0) return { kind: "none", matched: 0 };
  return { kind: "found", element: ctx as XmlElement };
}

/** All namespace bindings in scope at an element (prefix "" = default namespace). */
export function inScopeNamespaces(el: XmlElement): Map<string, string> {
  const chain: XmlElement[] = [];
  for (let n: Node | null = el; n && n.nodeType === 1; n = n.parentNode) chain.unshift(n as XmlElement);
  const out = new Map<string, string>();
  for (const e of chain) {
    for (let i = 0; i < e.attributes.length; i++) {
      const a = e.attributes[i]!;
      if (a.name === "xmlns") {
        if (a.value) out.set("", a.value);
        else out.delete("");
      } else if (a.name.startsWith("xmlns:")) out.set(a.name.slice(6), a.value);
    }
  }
  return out;
}
