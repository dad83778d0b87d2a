/**
 * MESSAGE authorization rules, auid `im-rules`, document `index` (the SER presence handbook's
 * usage): an RFC 4745 ruleset with pres-rules' conditions (OMA ones included) and one action,
 * `{urn:iptel:xml:ns:im-rules}im-handling` = allow | block. Default namespace for node selectors:
 * the im-rules namespace (as pres-rules uses its own, RFC 5025 §9.4). Evaluation: lib/im/im-rules.ts.
 */
import { schemaError } from "../../errors";
import type { ApplicationUsage } from "../application-usage";
import { checkAttributes, checkContent, expectRoot, isNCName, textOnly } from "../validation";
import { checkConditions, COMMON_POLICY_NS, OMA_COMMON_POLICY_NS } from "./pres-rules";

export const IM_RULES_NS = "urn:iptel:xml:ns:im-rules";
export const IM_RULES_AUID = "im-rules";

/** Validate a common-policy ruleset carrying im-rules actions. */
export function validateImRules(doc: Document): void {
  const root = expectRoot(doc, COMMON_POLICY_NS, "ruleset");
  checkAttributes(root, []);
  const ids = new Set<string>();
  for (const rule of checkContent(root, COMMON_POLICY_NS, { rule: "R" }, /^R*$/)) {
    checkAttributes(rule, ["id"], ["id"]);
    const id = rule.getAttribute("id")!;
    if (!isNCName(id)) throw schemaError(`rule id "${id}" is not an NCName`);
    if (ids.has(id)) throw schemaError(`duplicate rule id "${id}"`);
    ids.add(id);
    for (const part of checkContent(rule, COMMON_POLICY_NS, { conditions: "C", actions: "A", transformations: "T" }, /^C?A?T?$/)) {
      if (part.localName === "conditions") checkConditions(part);
      else if (part.localName === "actions") {
        let handling = 0;
        for (const k of checkContent(part, COMMON_POLICY_NS, {}, /^O*$/)) {
          if (k.namespaceURI !== IM_RULES_NS) continue;
          if (k.localName !== "im-handling") throw schemaError(`unknown im-rules action ${k.localName}`);
          if (++handling > 1) throw schemaError("more than one im-handling");
          const v = textOnly(k).trim();
          if (v !== "allow" && v !== "block") throw schemaError(`im-handling "${v}" is not allow|block`);
        }
      } else if (checkContent(part, COMMON_POLICY_NS, {}, /^O*$/).some((k) => k.namespaceURI === IM_RULES_NS)) {
        throw schemaError("im-rules defines no transformations");
      }
    }
  }
}

export const imRulesApplication: ApplicationUsage = {
  auid: IM_RULES_AUID,
  defaultNamespace: IM_RULES_NS,
  mimeType: "application/auth-policy+xml",
  namespaces: [IM_RULES_NS, COMMON_POLICY_NS, OMA_COMMON_POLICY_NS],
  scopes: ["users"],
  validate: (doc: Document) => validateImRules(doc),
};
