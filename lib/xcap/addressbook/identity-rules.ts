/**
 * The presence policy of a Blink address book restated as inline-identity rules in the IETF
 * `pres-rules/index` document (RFC 5025 on RFC 4745), for presence servers that cannot evaluate
 * Blink's OMA rules: Kamailio's and OpenSIPS's presence_xml ignore OMA `external-list`,
 * `other-identity` and `anonymous-request` conditions and apply the first rule that matches, so
 * Allow and Block written the Blink way alone never reach them.
 *
 * Rules written (ids `herald_*`, in this order, before any other rule of the document):
 *   herald_allow_own   <identity><one id=own XUI/>           allow
 *   herald_blocked     <identity><one id=…/>… (blocked URIs)  block — not polite-block: those
 *                      servers keep a polite-blocked subscription active with one empty NOTIFY,
 *                      so a watcher's list would keep the last state it was sent
 *   herald_allowed     <identity><one id=…/>… (allowed URIs)  allow
 *   herald_default     <identity><many><except id=…/>…</many> the default policy for everyone
 *                      not named above (polite-block written as block, for the same reason)
 * The `except`s make the rules disjoint, so the document means the same under RFC 4745's
 * combining (the most permissive matching rule) and under those servers' first match.
 * Each rule that lets a watcher see presence also provides all services, persons, devices and
 * attributes. Rules with other ids, and anything in other namespaces, stay as they are.
 * Herald's own server reads the OMA document when both exist, so the mirror never changes what it
 * decides.
 */
import { childElements, childrenNS, type XmlDocument, type XmlElement } from "../../xml";
import { createEl, removeEl } from "./dom";
import { NS, type AddressBookContext, type AddressBookModel } from "./model";

export const IDENTITY_RULE_PREFIX = "herald_";

interface IdentityRule {
  id: string;
  /** URIs for `<one id>`; null for `<many>` (every watcher but `except`). */
  ones: string[] | null;
  except?: string[];
  subHandling: "allow" | "confirm" | "block";
}

/** The rules the address book's policy comes to, in evaluation order. */
export function identityRules(model: AddressBookModel, ctx: AddressBookContext): IdentityRule[] {
  const rules: IdentityRule[] = [{ id: "herald_allow_own", ones: [ctx.xui], subHandling: "allow" }];
  const blocked = model.presence.blocked.filter((u) => u !== ctx.xui);
  if (blocked.length) rules.push({ id: "herald_blocked", ones: blocked, subHandling: "block" });
  const allowed = model.presence.allowed.filter((u) => u !== ctx.xui && !blocked.includes(u));
  if (allowed.length) rules.push({ id: "herald_allowed", ones: allowed, subHandling: "allow" });
  const d = model.defaultPolicy;
  rules.push({ id: "herald_default", ones: null, except: [ctx.xui, ...blocked, ...allowed], subHandling: d === "allow" ? "allow" : d === "confirm" ? "confirm" : "block" });
  return rules;
}

function ruleElement(doc: XmlDocument, r: IdentityRule): XmlElement {
  const rule = createEl(doc, NS.commonPolicy, "rule", { id: r.id });
  const conditions = createEl(doc, NS.commonPolicy, "conditions");
  const identity = createEl(doc, NS.commonPolicy, "identity");
  if (r.ones) for (const id of r.ones) identity.appendChild(createEl(doc, NS.commonPolicy, "one", { id }));
  else {
    const many = createEl(doc, NS.commonPolicy, "many");
    for (const id of r.except ?? []) many.appendChild(createEl(doc, NS.commonPolicy, "except", { id }));
    identity.appendChild(many);
  }
  conditions.appendChild(identity);
  const actions = createEl(doc, NS.commonPolicy, "actions");
  actions.appendChild(createEl(doc, NS.presRules, "sub-handling", {}, r.subHandling));
  rule.appendChild(conditions);
  rule.appendChild(actions);
  if (r.subHandling === "allow") {
    const t = createEl(doc, NS.commonPolicy, "transformations");
    for (const [what, all] of [
      ["provide-services", "all-services"],
      ["provide-persons", "all-persons"],
      ["provide-devices", "all-devices"],
    ] as const) {
      const p = createEl(doc, NS.presRules, what);
      p.appendChild(createEl(doc, NS.presRules, all));
      t.appendChild(p);
    }
    t.appendChild(createEl(doc, NS.presRules, "provide-all-attributes"));
    rule.appendChild(t);
  }
  return rule;
}

/**
 * Replace the `herald_*` rules of an IETF pres-rules document with the ones `model` comes to,
 * ahead of every other rule. Idempotent: the same model leaves the document as it was.
 */
export function mirrorIdentityRules(doc: XmlDocument, model: AddressBookModel, ctx: AddressBookContext): void {
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== NS.commonPolicy || root.localName !== "ruleset") {
    throw new Error("pres-rules document: the root is not a common-policy ruleset");
  }
  for (const r of childrenNS(root, NS.commonPolicy, "rule")) if ((r.getAttribute("id") ?? "").startsWith(IDENTITY_RULE_PREFIX)) removeEl(r);
  const first = childElements(root)[0] ?? null;
  for (const r of identityRules(model, ctx)) root.insertBefore(ruleElement(doc, r), first);
}
