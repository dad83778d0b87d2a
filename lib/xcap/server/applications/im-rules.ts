/**
 * MESSAGE authorization rules, auid `im-rules`, document `index` (the SER presence handbook's
 * usage): an RFC 4745 ruleset with pres-rules' conditions (OMA ones included) and one action,
 * `{urn:iptel:xml:ns:im-rules}im-handling` = allow | block. Default namespace for node selectors:
 * the im-rules namespace (as pres-rules uses its own, RFC 5025 §9.4). Evaluation: lib/im/im-rules.ts.
 */
import type { XmlDocumentView, XmlElementView } from "../../../xml";
import { schemaError } from "../../errors";
import type { ApplicationUsage } from "../application-usage";
import { checkContent, textOnly } from "../validation";
import { validateRuleset } from "./pres-rules";
import { AUID, CONTENT_TYPES, NS } from "../../../presence/namespaces";


function checkActions(actions: XmlElementView): void {
  let handling = 0;
  for (const k of checkContent(actions, NS.commonPolicy, {}, /^O*$/)) {
    if (k.namespaceURI !== NS.imRules) continue;
    if (k.localName !== "im-handling") throw schemaError(`unknown im-rules action ${k.localName}`);
    if (++handling > 1) throw schemaError("more than one im-handling");
    const v = textOnly(k).trim();
    if (v !== "allow" && v !== "block") throw schemaError(`im-handling "${v}" is not allow|block`);
  }
}

function checkTransformations(tr: XmlElementView): void {
  if (checkContent(tr, NS.commonPolicy, {}, /^O*$/).some((k) => k.namespaceURI === NS.imRules)) throw schemaError("im-rules defines no transformations");
}

/** Validate a common-policy ruleset carrying im-rules actions. */
export function validateImRules(doc: XmlDocumentView): void {
  validateRuleset(doc, { actions: checkActions, transformations: checkTransformations });
}

export const imRulesApplication: ApplicationUsage = {
  auid: AUID.imRules,
  defaultNamespace: NS.imRules,
  mimeType: CONTENT_TYPES.authPolicy,
  namespaces: [NS.imRules, NS.commonPolicy, NS.omaCommonPolicy],
  scopes: ["users"],
  validate: (doc: XmlDocumentView) => validateImRules(doc),
};
