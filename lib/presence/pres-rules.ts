/**
 * Presence authorization rules: RFC 4745 common-policy + RFC 5025 pres-rules + OMA XDM
 * common-policy extensions (`urn:oma:xml:xdm:common-policy`: external-list, other-identity,
 * anonymous-request). Parsing only; evaluation is in pres-rules-evaluation.ts.
 */
import { childElements, textOf, type ParseXmlOptions, type XmlDocumentView, type XmlElementView } from "../xml";
import { PresencePayloadError } from "./errors";
import { NS } from "./namespaces";
import { parsePayloadTree } from "./pidf-parser";

/** RFC 5025 §3.2.1, in increasing permissiveness (RFC 4745 §10 combining takes the maximum). */
export type SubHandling = "block" | "confirm" | "polite-block" | "allow";
export const SUB_HANDLING_ORDER: readonly SubHandling[] = ["block", "confirm", "polite-block", "allow"];

/** RFC 5025 §3.3.x provide-user-input values, increasing. */
export type ProvideUserInput = "false" | "bare" | "thresholds" | "full";
export const PROVIDE_USER_INPUT_ORDER: readonly ProvideUserInput[] = ["false", "bare", "thresholds", "full"];

export interface ManyIdentity {
  /** Absent = any authenticated identity. */
  domain?: string;
  excepts: { id?: string; domain?: string }[];
}

export interface IdentityCondition {
  ones: string[];
  manys: ManyIdentity[];
}

export interface RuleConditions {
  identity?: IdentityCondition;
  /** `<sphere value="work home">`: the listed sphere values. */
  sphere?: string[];
  /** `<validity>` intervals (from, until as ISO strings). */
  validity?: { from: string; until: string }[];
  /** OMA `<external-list>` anchors (XCAP URIs of resource lists). */
  externalLists?: string[];
  /** OMA `<other-identity/>`. */
  otherIdentity?: boolean;
  /** OMA `<anonymous-request/>`. */
  anonymousRequest?: boolean;
  /** Condition elements not understood; RFC 4745 §7: such a condition is FALSE, so the rule never matches. */
  unknown: string[];
}

/** A set of services/persons/devices a watcher may see (RFC 5025 §3.3.1–3.3.3). */
export interface ProvideSet {
  all: boolean;
  /** provide-services: `service-uri` values */
  serviceUris: string[];
  /** provide-services: `service-uri-scheme` values */
  serviceUriSchemes: string[];
  /** provide-devices: `deviceID` values */
  deviceIds: string[];
  occurrenceIds: string[];
  classes: string[];
}

export interface Transformations {
  provideServices?: ProvideSet;
  providePersons?: ProvideSet;
  provideDevices?: ProvideSet;
  provideAllAttributes?: boolean;
  /** Boolean permissions by element name: provide-activities, provide-note, provide-mood... */
  booleans: Record<string, boolean>;
  provideUserInput?: ProvideUserInput;
  /** provide-unknown-attribute, keyed `{ns}name`. */
  unknownAttributes: Record<string, boolean>;
}

export interface PresRule {
  id: string;
  conditions: RuleConditions;
  subHandling?: SubHandling;
  transformations: Transformations;
  /** True when the rule has a `<transformations>` element with at least one child. */
  hasTransformations: boolean;
}

/**
 * The rules as evaluation reads them. No DOM is kept: the authorizer caches this per presentity
 * for as long as the document stays the same (a parsed 40-identity document is ~100 KB of DOM).
 */
export interface PresRules {
  rules: PresRule[];
}

const BOOLEAN_TRANSFORMATIONS = [
  "provide-activities",
  "provide-class",
  "provide-deviceID",
  "provide-mood",
  "provide-place-is",
  "provide-place-type",
  "provide-privacy",
  "provide-relationship",
  "provide-status-icon",
  "provide-sphere",
  "provide-time-offset",
  "provide-note",
] as const;

export function emptyProvideSet(all = false): ProvideSet {
  return { all, serviceUris: [], serviceUriSchemes: [], deviceIds: [], occurrenceIds: [], classes: [] };
}

function isTrue(el: XmlElementView): boolean {
  const t = (textOf(el) ?? "").toLowerCase();
  return t === "true" || t === "1";
}

function provideSet(el: XmlElementView): ProvideSet {
  const out = emptyProvideSet();
  for (const c of childElements(el)) {
    if (c.namespaceURI !== NS.presRules) continue;
    const v = textOf(c) ?? "";
    switch (c.localName) {
      case "all-services":
      case "all-persons":
      case "all-devices":
        out.all = true;
        break;
      case "service-uri":
        out.serviceUris.push(v);
        break;
      case "service-uri-scheme":
        out.serviceUriSchemes.push(v.toLowerCase());
        break;
      case "deviceID":
        out.deviceIds.push(v);
        break;
      case "occurrence-id":
        out.occurrenceIds.push(v);
        break;
      case "class":
        out.classes.push(v);
        break;
    }
  }
  return out;
}

/** The RFC 4745 `<conditions>` of a rule (+ OMA conditions); shared with other common-policy usages (im-rules). */
export function parseConditions(el: XmlElementView | undefined): RuleConditions {
  const out: RuleConditions = { unknown: [] };
  if (!el) return out;
  for (const c of childElements(el)) {
    if (c.namespaceURI === NS.commonPolicy && c.localName === "identity") {
      const identity: IdentityCondition = out.identity ?? { ones: [], manys: [] };
      for (const i of childElements(c)) {
        if (i.namespaceURI !== NS.commonPolicy) continue;
        if (i.localName === "one") identity.ones.push(i.getAttribute("id") ?? "");
        else if (i.localName === "many") {
          const many: ManyIdentity = { excepts: [] };
          if (i.hasAttribute("domain")) many.domain = i.getAttribute("domain") ?? undefined;
          for (const e of childElements(i)) {
            if (e.namespaceURI === NS.commonPolicy && e.localName === "except") {
              const ex: { id?: string; domain?: string } = {};
              if (e.hasAttribute("id")) ex.id = e.getAttribute("id") ?? undefined;
              if (e.hasAttribute("domain")) ex.domain = e.getAttribute("domain") ?? undefined;
              many.excepts.push(ex);
            }
          }
          identity.manys.push(many);
        }
      }
      out.identity = identity;
    } else if (c.namespaceURI === NS.commonPolicy && c.localName === "sphere") {
      out.sphere = [...(out.sphere ?? []), ...(c.getAttribute("value") ?? "").split(/\s+/).filter(Boolean)];
    } else if (c.namespaceURI === NS.commonPolicy && c.localName === "validity") {
      const validity = out.validity ?? [];
      let from: string | undefined;
      for (const v of childElements(c)) {
        if (v.localName === "from") from = textOf(v);
        else if (v.localName === "until" && from !== undefined) {
          validity.push({ from, until: textOf(v) ?? "" });
          from = undefined;
        }
      }
      out.validity = validity;
    } else if (c.namespaceURI === NS.omaCommonPolicy && c.localName === "external-list") {
      out.externalLists = [
        ...(out.externalLists ?? []),
        ...childElements(c)
          .filter((e) => e.localName === "entry" && e.getAttribute("anc"))
          .map((e) => e.getAttribute("anc") as string),
      ];
    } else if (c.namespaceURI === NS.omaCommonPolicy && c.localName === "other-identity") out.otherIdentity = true;
    else if (c.namespaceURI === NS.omaCommonPolicy && c.localName === "anonymous-request") out.anonymousRequest = true;
    else out.unknown.push(`{${c.namespaceURI ?? ""}}${c.localName}`);
  }
  return out;
}

function parseTransformations(el: XmlElementView | undefined): Transformations {
  const out: Transformations = { booleans: {}, unknownAttributes: {} };
  if (!el) return out;
  for (const c of childElements(el)) {
    if (c.namespaceURI !== NS.presRules) continue;
    const name = c.localName;
    if (name === "provide-services") out.provideServices = provideSet(c);
    else if (name === "provide-persons") out.providePersons = provideSet(c);
    else if (name === "provide-devices") out.provideDevices = provideSet(c);
    else if (name === "provide-all-attributes") out.provideAllAttributes = true;
    else if (name === "provide-user-input") {
      const v = textOf(c) as ProvideUserInput;
      if (PROVIDE_USER_INPUT_ORDER.includes(v)) out.provideUserInput = v;
    } else if (name === "provide-unknown-attribute") {
      out.unknownAttributes[`{${c.getAttribute("ns") ?? ""}}${c.getAttribute("name") ?? ""}`] = isTrue(c);
    } else if ((BOOLEAN_TRANSFORMATIONS as readonly string[]).includes(name)) out.booleans[name] = isTrue(c);
  }
  return out;
}

/** Parse a pres-rules document (`application/auth-policy+xml`, root `{common-policy}ruleset`). */
export function parsePresRules(input: string | Uint8Array | XmlDocumentView, options?: ParseXmlOptions): PresRules {
  // read only: the light tree (lib/xml-tree.ts) when given text
  const root = parsePayloadTree(input, options).documentElement;
  if (!root) throw new PresencePayloadError("wrong-root", "no root element");
  if (root.namespaceURI !== NS.commonPolicy || root.localName !== "ruleset") {
    throw new PresencePayloadError("wrong-root", `expected {${NS.commonPolicy}}ruleset, got {${root.namespaceURI ?? ""}}${root.localName}`);
  }
  const rules: PresRule[] = [];
  for (const r of childElements(root)) {
    if (r.namespaceURI !== NS.commonPolicy || r.localName !== "rule") continue;
    const part = (name: string) => childElements(r).find((c) => c.namespaceURI === NS.commonPolicy && c.localName === name);
    const actions = part("actions");
    const transformationsEl = part("transformations");
    const rule: PresRule = {
      id: r.getAttribute("id") ?? "",
      conditions: parseConditions(part("conditions")),
      transformations: parseTransformations(transformationsEl),
      hasTransformations: transformationsEl ? childElements(transformationsEl).length > 0 : false,
    };
    const sh = actions && childElements(actions).find((c) => c.namespaceURI === NS.presRules && c.localName === "sub-handling");
    if (sh) {
      const v = textOf(sh) as SubHandling;
      if (SUB_HANDLING_ORDER.includes(v)) rule.subHandling = v;
    }
    rules.push(rule);
  }
  return { rules };
}
