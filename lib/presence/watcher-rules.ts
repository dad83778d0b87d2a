/**
 * Who may watch a presentity that has no user to decide it (a virtual presentity): a pres-rules
 * document (RFC 5025 on RFC 4745) with one rule, `herald_watchers`, that allows the listed
 * addresses (`<one id>`, §7.1.1) and every authenticated user of the listed domains (`<many
 * domain>`, §7.1.2) and provides all services, persons, devices and attributes (RFC 5025
 * §3.3.1–3.3.6). Anyone else matches no rule and is blocked (RFC 5025 §3.2.1); with nothing
 * listed the ruleset is empty and everybody is blocked.
 */
import { appendElementNS, createXmlDocument, serializeXmlDocument } from "../xml";
import { canonicalAor } from "../sip/aor";
import { NS } from "./namespaces";
import type { PresRules } from "./pres-rules";

export const WATCHER_RULE_ID = "herald_watchers";

export interface AllowedWatchers {
  /** Domains whose every user may watch (lower-case domain names). */
  domains: string[];
  /** Further watchers, `sip:user@domain`. */
  addresses: string[];
}

/** The pres-rules document granting `watchers` the full presence (`application/auth-policy+xml`). */
export function composeWatcherRules(watchers: AllowedWatchers): string {
  const doc = createXmlDocument(NS.commonPolicy, "cr:ruleset", { cr: NS.commonPolicy, pr: NS.presRules });
  if (watchers.domains.length === 0 && watchers.addresses.length === 0) return serializeXmlDocument(doc);
  const rule = appendElementNS(doc.documentElement, NS.commonPolicy, "cr:rule", { id: WATCHER_RULE_ID });
  const identity = appendElementNS(appendElementNS(rule, NS.commonPolicy, "cr:conditions"), NS.commonPolicy, "cr:identity");
  for (const id of watchers.addresses) appendElementNS(identity, NS.commonPolicy, "cr:one", { id });
  for (const domain of watchers.domains) appendElementNS(identity, NS.commonPolicy, "cr:many", { domain });
  appendElementNS(appendElementNS(rule, NS.commonPolicy, "cr:actions"), NS.presRules, "pr:sub-handling", {}, "allow");
  const t = appendElementNS(rule, NS.commonPolicy, "cr:transformations");
  appendElementNS(appendElementNS(t, NS.presRules, "pr:provide-services"), NS.presRules, "pr:all-services");
  appendElementNS(appendElementNS(t, NS.presRules, "pr:provide-persons"), NS.presRules, "pr:all-persons");
  appendElementNS(appendElementNS(t, NS.presRules, "pr:provide-devices"), NS.presRules, "pr:all-devices");
  appendElementNS(t, NS.presRules, "pr:provide-all-attributes");
  return serializeXmlDocument(doc);
}

/** The watchers a `composeWatcherRules` document grants (its `herald_watchers` rule; none without it). */
export function watchersOfRules(rules: PresRules): AllowedWatchers {
  const identity = rules.rules.find((r) => r.id === WATCHER_RULE_ID && r.subHandling === "allow")?.conditions.identity;
  return {
    domains: [...new Set((identity?.manys ?? []).flatMap((m) => (m.domain ? [m.domain.toLowerCase()] : [])))],
    addresses: [...new Set((identity?.ones ?? []).map((o) => canonicalAor(o)))],
  };
}
