/**
 * MESSAGE authorization rules, auid `im-rules` (the SER presence handbook's "MESSAGE authorization
 * rules", iptel): an RFC 4745 common-policy `ruleset` whose conditions are evaluated exactly as
 * pres-rules' (identity, domain, sphere, validity, OMA external-list / other-identity /
 * anonymous-request; lib/presence `matchingRules`), with one action:
 *
 *   <im:im-handling xmlns:im="urn:iptel:xml:ns:im-rules">allow|block</im:im-handling>
 *
 * Combining (RFC 4745 §10): the maximum over the matching rules, block < allow. A matching rule
 * without im-handling, or no matching rule, blocks (the handbook's default). Because allow wins,
 * a block list is written as exceptions of an allow rule (`<many><except id=…/></many>`) or with
 * OMA `other-identity`, as pres-rules does.
 *
 * `sphere` conditions (RFC 4745 §7.2) hold when the recipient's current sphere — the RPID
 * `<sphere>` (RFC 4480 §3.2) of the presence they publish now, `publishedSphere` — is one of the
 * listed values; with no published sphere they do not hold.
 *
 * No document at all (Herald's default, `evaluateImRules(undefined, …)`): authenticated senders of
 * the served domains may message, anonymous senders and other domains may not.
 */
import { childElements, textOf, XmlParseError, type XmlDocument, parseXml } from "../xml";
import { canonicalAor } from "../sip/aor";
import { isAnonymous, matchingRules, NS, parseConditions, type ConditionOptions, type PresenceDocument, type RuleConditions, type WatcherIdentity } from "../presence";
import { ImPayloadError } from "./errors";

export type ImHandling = "block" | "allow";
export const IM_HANDLING_ORDER: readonly ImHandling[] = ["block", "allow"];

export interface ImRule {
  id: string;
  conditions: RuleConditions;
  imHandling?: ImHandling;
}

export interface ImRules {
  rules: ImRule[];
}

export interface ImDecision {
  imHandling: ImHandling;
  /** Ids of the matching rules (empty when decided by the no-document default). */
  matchedRules: string[];
  /** True when no document existed and the default applied. */
  defaulted: boolean;
}

export interface ImRulesOptions extends ConditionOptions {
  /** Domains whose authenticated users may message when there is no document. */
  servedDomains?: readonly string[];
}

/** Parse an im-rules document. Throws ImPayloadError (400) for anything that is not a common-policy ruleset. */
export function parseImRules(input: string | XmlDocument): ImRules {
  let doc: XmlDocument;
  try {
    doc = typeof input === "string" ? parseXml(input) : input;
  } catch (e) {
    if (e instanceof XmlParseError) throw new ImPayloadError("not-xml", `im-rules: ${e.message}`);
    throw e;
  }
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.commonPolicy || root.localName !== "ruleset") throw new ImPayloadError("wrong-root", `expected {${NS.commonPolicy}}ruleset`);
  const rules: ImRule[] = [];
  for (const r of childElements(root)) {
    if (r.namespaceURI !== NS.commonPolicy || r.localName !== "rule") continue;
    const part = (name: string) => childElements(r).find((c) => c.namespaceURI === NS.commonPolicy && c.localName === name);
    const rule: ImRule = { id: r.getAttribute("id") ?? "", conditions: parseConditions(part("conditions")) };
    const actions = part("actions");
    const h = actions && childElements(actions).find((c) => c.namespaceURI === NS.imRules && c.localName === "im-handling");
    const v = textOf(h)?.trim();
    if (v === "allow" || v === "block") rule.imHandling = v;
    rules.push(rule);
  }
  return { rules };
}

function hostOf(uri: string): string {
  const c = canonicalAor(uri);
  return c.slice(c.lastIndexOf("@") + 1);
}

/** True when a rule of `rules` has a `sphere` condition (only then is the recipient's presence read). */
export function hasSphereCondition(rules: ImRules | undefined): boolean {
  return rules?.rules.some((r) => r.conditions.sphere !== undefined) ?? false;
}

/**
 * The sphere a presence document states (RFC 4480 §3.2): the first person's `<sphere>`, as the
 * PIDF parser reads it (an RPID token such as `work`, or free text); undefined when none does.
 */
export function publishedSphere(doc: PresenceDocument | undefined): string | undefined {
  return doc?.persons.find((p) => p.sphere !== undefined)?.sphere;
}

/** May `sender` message the owner of `rules` (undefined = no im-rules document)? */
export function evaluateImRules(rules: ImRules | undefined, sender: WatcherIdentity, options: ImRulesOptions = {}): ImDecision {
  if (!rules) {
    const local = !isAnonymous(sender) && (options.servedDomains ?? []).some((d) => d.toLowerCase() === hostOf(sender.uri as string));
    return { imHandling: local ? "allow" : "block", matchedRules: [], defaulted: true };
  }
  const matching = matchingRules(rules.rules, sender, options);
  const allowed = matching.some((r) => r.imHandling === "allow");
  return { imHandling: allowed ? "allow" : "block", matchedRules: matching.map((r) => r.id), defaulted: false };
}
