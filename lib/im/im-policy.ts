/**
 * "Who may message me", as My Presence offers it, written as an im-rules document:
 * - `everyone`: no document — Herald's default: any user of the served domains (im-rules.ts);
 * - `contacts`: one rule allowing the members of the user's buddy list (OMA external-list to the
 *   resource-lists `oma_buddylist`, the list Blink and the portal keep);
 * - `nobody`: an empty ruleset (nobody matches; the user's own devices are always allowed).
 * A document Herald did not write reads as `custom` and is only replaced when the user chooses.
 */
import { escapeXml } from "../xml";
import { NS } from "../presence";
import type { ImRules } from "./im-rules";

export type ImPolicy = "everyone" | "contacts" | "nobody";
export const IM_POLICIES: readonly ImPolicy[] = ["everyone", "contacts", "nobody"];
export const IM_CONTACTS_RULE_ID = "herald_im_contacts";

/** The document for `policy` (null: delete the document). `buddyListAnchor`: XCAP URI of the buddy list. */
export function composeImPolicy(policy: ImPolicy, buddyListAnchor: string): string | null {
  if (policy === "everyone") return null;
  const head = `<?xml version="1.0" encoding="UTF-8"?>\n<cr:ruleset xmlns:cr="${NS.commonPolicy}" xmlns:im="${NS.imRules}" xmlns:ocp="${NS.omaCommonPolicy}">`;
  if (policy === "nobody") return `${head}</cr:ruleset>`;
  return `${head}<cr:rule id="${IM_CONTACTS_RULE_ID}"><cr:conditions><ocp:external-list><ocp:entry anc="${escapeXml(buddyListAnchor)}"/></ocp:external-list></cr:conditions><cr:actions><im:im-handling>allow</im:im-handling></cr:actions></cr:rule></cr:ruleset>`;
}

/** Which choice a stored document is (undefined = no document). */
export function imPolicyOf(rules: ImRules | undefined): ImPolicy | "custom" {
  if (!rules) return "everyone";
  if (rules.rules.length === 0) return "nobody";
  const [r] = rules.rules;
  if (rules.rules.length === 1 && r.id === IM_CONTACTS_RULE_ID && r.imHandling === "allow" && r.conditions.externalLists?.length === 1) return "contacts";
  return "custom";
}
