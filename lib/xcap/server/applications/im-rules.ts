/**
 * MESSAGE authorization rules, auid `im-rules`, document `index` (the SER presence handbook's
 * usage): an RFC 4745 ruleset with pres-rules' conditions (OMA ones included) and one action,
 * `{urn:iptel:xml:ns:im-rules}im-handling` = allow | block. Default namespace for node selectors:
 * the im-rules namespace (as pres-rules uses its own, RFC 5025 §9.4). Evaluation: lib/im/im-rules.ts.
 */
import type { XmlElement } from "../../../xml";
import { schemaError } from "../../errors";
import type { ApplicationUsage } from "../application-usage";
import { checkContent, textOnly } from "../validation";
import { COMMON_POLICY_NS, OMA_COMMON_POLICY_NS, validateRuleset } from "./pres-rules";

export const IM_RULES_NS = "urn:iptel:xml:ns:im-rules";
export const IM_RULES_AUID = "im-rules";

function checkActions(actions: XmlElement): void {
  let handling = 0;
  for (const k of checkContent(actions, COMMON_POLICY_NS, {}, /^O*$/)) {
    if (k.namespaceURI !== IM_RULES_NS) continue;
    if (k.localName !== "im-handling") throw schemaError(`unknown im-rules action ${k.localName}`);
    if (++handling > 1) throw schemaError("more than one im-handling");
    const v = textOnly(k).trim();
    if (v !== "allow" && v !== "block") throw schemaError(`im-handling "${v}" is not allow|block`);
  }
}

function checkTransformations(tr: XmlElement): void {
  if (checkContent(tr, COMMON_POLICY_NS, {}, /^O*$/).some((k) => k.namespaceURI === IM_RULES_NS)) throw schemaError("im-rules defines no transformations");
}

/** Validate a common-policy ruleset carrying im-rules actions. */
export function validateImRules(doc: Document): void {
  validateRuleset(doc, { actions: checkActions, transformations: checkTransformations });
}

export const imRulesApplication: ApplicationUsage = {
  auid: IM_RULES_AUID,
  defaultNamespace: IM_RULES_NS,
  mimeType: "application/auth-policy+xml",
  namespaces: [IM_RULES_NS, COMMON_POLICY_NS, OMA_COMMON_POLICY_NS],
  scopes: ["users"],
  validate: (doc: Document) => validateImRules(doc),
};
