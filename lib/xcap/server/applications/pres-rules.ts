/**
 * Presence authorization rules (RFC 5025 over RFC 4745 common-policy), under the IETF auid
 * `pres-rules` and the OMA auid `org.openmobilealliance.pres-rules` (separate documents;
 * OMA adds the `urn:oma:xml:xdm:common-policy` conditions external-list, other-identity and
 * anonymous-request). Both use `urn:ietf:params:xml:ns:pres-rules` as the default namespace for
 * node selectors (RFC 5025 §9.4).
 */
import type { XmlDocumentView, XmlElementView } from "../../../xml";
import { schemaError } from "../../errors";
import type { ApplicationUsage } from "../application-usage";
import { checkAttributes, checkContent, expectRoot, isAnyUri, isDateTime, isNCName, textOnly } from "../validation";
import { AUID, CONTENT_TYPES, NS } from "../../../presence/namespaces";

const SUB_HANDLING = new Set(["block", "confirm", "polite-block", "allow"]);
const BOOLEAN_PERMISSIONS = new Set([
  "provide-activities", "provide-class", "provide-deviceID", "provide-mood", "provide-place-is",
  "provide-place-type", "provide-privacy", "provide-relationship", "provide-status-icon",
  "provide-sphere", "provide-time-offset", "provide-note",
]);
const USER_INPUT = new Set(["false", "bare", "thresholds", "full"]);

function checkIdentity(identity: XmlElementView): void {
  const kids = checkContent(identity, NS.commonPolicy, { one: "N", many: "M" }, /^[NMO]+$/);
  for (const k of kids) {
    if (k.namespaceURI !== NS.commonPolicy) continue;
    if (k.localName === "one") {
      checkAttributes(k, ["id"], ["id"]);
      if (!isAnyUri(k.getAttribute("id")!)) throw schemaError("identity/one id is not a URI");
      checkContent(k, NS.commonPolicy, {}, /^O?$/);
    } else {
      checkAttributes(k, ["domain"]);
      for (const e of checkContent(k, NS.commonPolicy, { except: "X" }, /^[XO]*$/)) {
        if (e.namespaceURI === NS.commonPolicy) {
          checkAttributes(e, ["domain", "id"]);
          checkContent(e, NS.commonPolicy, {}, /^$/);
        }
      }
    }
  }
}

function checkConditions(cond: XmlElementView): void {
  const kids = checkContent(cond, NS.commonPolicy, { identity: "I", sphere: "S", validity: "V" }, /^I?S?V?O*$/);
  for (const k of kids) {
    if (k.namespaceURI === NS.commonPolicy) {
      if (k.localName === "identity") checkIdentity(k);
      else if (k.localName === "sphere") {
        checkAttributes(k, ["value"], ["value"]);
        checkContent(k, NS.commonPolicy, {}, /^$/);
      } else if (k.localName === "validity") {
        for (const t of checkContent(k, NS.commonPolicy, { from: "F", until: "U" }, /^(FU)+$/)) {
          if (!isDateTime(textOnly(t))) throw schemaError(`validity/${t.localName} is not a dateTime`);
        }
      }
    } else if (k.namespaceURI === NS.omaCommonPolicy) {
      if (k.localName === "external-list") {
        for (const e of checkContent(k, NS.omaCommonPolicy, { entry: "E" }, /^E*$/)) {
          checkAttributes(e, ["anc"]);
          const anc = e.getAttribute("anc");
          if (anc !== null && !isAnyUri(anc)) throw schemaError("external-list entry anc is not a URI");
        }
      } else if (k.localName === "other-identity" || k.localName === "anonymous-request") {
        checkContent(k, NS.omaCommonPolicy, {}, /^$/);
        if ((k.textContent ?? "").trim() !== "") throw schemaError(`${k.localName} must be empty`);
      } else {
        throw schemaError(`unknown OMA condition ${k.localName}`);
      }
    }
  }
}

function checkActions(actions: XmlElementView): void {
  let subHandling = 0;
  for (const k of checkContent(actions, NS.commonPolicy, {}, /^O*$/)) {
    if (k.namespaceURI !== NS.presRules) continue;
    if (k.localName === "sub-handling") {
      if (++subHandling > 1) throw schemaError("more than one sub-handling");
      const v = textOnly(k).trim();
      if (!SUB_HANDLING.has(v)) throw schemaError(`sub-handling "${v}" is not block|confirm|polite-block|allow`);
    } else {
      throw schemaError(`unknown pres-rules action ${k.localName}`);
    }
  }
}

function checkTransformations(tr: XmlElementView): void {
  for (const k of checkContent(tr, NS.commonPolicy, {}, /^O*$/)) {
    if (k.namespaceURI !== NS.presRules) continue;
    const name = k.localName ?? "";
    if (BOOLEAN_PERMISSIONS.has(name)) {
      const v = textOnly(k).trim();
      if (v !== "true" && v !== "false") throw schemaError(`${name} must be true or false`);
    } else if (name === "provide-user-input") {
      if (!USER_INPUT.has(textOnly(k).trim())) throw schemaError("provide-user-input has a bad value");
    } else if (name === "provide-unknown-attribute") {
      checkAttributes(k, ["name", "ns"], ["name", "ns"]);
      const v = textOnly(k).trim();
      if (v !== "true" && v !== "false") throw schemaError("provide-unknown-attribute must be true or false");
    } else if (!["provide-services", "provide-persons", "provide-devices", "provide-all-attributes"].includes(name)) {
      throw schemaError(`unknown pres-rules transformation ${name}`);
    }
  }
}

/** Validate a common-policy ruleset carrying pres-rules (RFC 4745 §7, RFC 5025 §5). */
export function validatePresRules(doc: XmlDocumentView): void {
  validateRuleset(doc, { actions: checkActions, transformations: checkTransformations });
}

/**
 * An RFC 4745 ruleset: unique NCName rule ids, conditions/actions/transformations in that order,
 * conditions as above; the usage checks its own actions and transformations (pres-rules, im-rules).
 */
export function validateRuleset(doc: XmlDocumentView, usage: { actions(el: XmlElementView): void; transformations(el: XmlElementView): void }): void {
  const root = expectRoot(doc, NS.commonPolicy, "ruleset");
  checkAttributes(root, []);
  const rules = checkContent(root, NS.commonPolicy, { rule: "R" }, /^R*$/);
  const ids = new Set<string>();
  for (const rule of rules) {
    checkAttributes(rule, ["id"], ["id"]);
    const id = rule.getAttribute("id")!;
    // xs:ID: an NCName, unique in the document
    if (!isNCName(id)) throw schemaError(`rule id "${id}" is not an NCName`);
    if (ids.has(id)) throw schemaError(`duplicate rule id "${id}"`);
    ids.add(id);
    for (const part of checkContent(rule, NS.commonPolicy, { conditions: "C", actions: "A", transformations: "T" }, /^C?A?T?$/)) {
      if (part.localName === "conditions") checkConditions(part);
      else if (part.localName === "actions") usage.actions(part);
      else usage.transformations(part);
    }
  }
}

const base = {
  defaultNamespace: NS.presRules,
  mimeType: CONTENT_TYPES.authPolicy,
  scopes: ["users"] as const,
  validate: (doc: XmlDocumentView) => validatePresRules(doc),
};

export const presRulesApplication: ApplicationUsage = {
  ...base,
  auid: AUID.ietfPresRules,
  namespaces: [NS.presRules, NS.commonPolicy],
};

export const omaPresRulesApplication: ApplicationUsage = {
  ...base,
  auid: AUID.presRules,
  namespaces: [NS.presRules, NS.commonPolicy, NS.omaCommonPolicy],
};
