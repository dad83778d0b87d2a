/**
 * Evaluate presence authorization rules for one watcher (RFC 4745 §7 and §10, RFC 5025 §3,
 * OMA XDM common policy).
 *
 * Semantics implemented (RFC, not Kamailio: Kamailio 5.6 stops at the first matching rule and
 * ignores the OMA conditions):
 * - A rule matches when every one of its conditions is true; a rule without conditions matches
 *   everybody; a condition not understood is false (RFC 4745 §7), so such a rule never matches.
 * - `identity` (RFC 4745 §7.1) matches authenticated watchers only: `one id` by URI
 *   (scheme, user, host; host case-insensitive; parameters ignored), `many` (optionally limited
 *   to a `domain`) minus its `except id` / `except domain` entries.
 * - `sphere` matches when the presentity's current sphere (options.sphere) is one of the values.
 * - `validity` matches when `now` is inside one of the from/until intervals.
 * - OMA `external-list` matches an authenticated watcher contained in one of the referenced
 *   lists (resolved by the caller, see below).
 * - OMA `anonymous-request` matches anonymous (unauthenticated) watchers.
 * - OMA `other-identity` matches an authenticated watcher that no `identity` or
 *   `external-list` condition of any rule matches (anonymous watchers are handled by
 *   `anonymous-request`, so Blink's wp_prs_block_anonymous is not undone by wp_prs_unlisted).
 * - Combining (RFC 4745 §10): sub-handling is the maximum over matching rules in the order
 *   block < confirm < polite-block < allow; boolean permissions are OR-ed; provide-user-input is
 *   the maximum of false < bare < thresholds < full; provide-services/persons/devices are unions.
 * - No matching rule, or matching rules without `sub-handling`: block (RFC 5025 §3.2.1), unless
 *   options.unmatchedSubHandling says otherwise. No rules document at all: confirm.
 * - Transformations: a watcher who ends up with `allow` but whose matching rules carry no
 *   `<transformations>` at all sees the full document (options.unspecifiedTransformations
 *   = "all", the default). python-sipsimple writes wp_prs_grantedcontacts without
 *   transformations, and Kamailio/OpenSIPS ignore them, so strict RFC 5025 (nothing provided)
 *   would make Blink's "allowed" buddies see nothing. As soon as any matching rule has
 *   transformations, the strict RFC 5025 default-deny applies.
 *
 * External lists: anchors are XCAP URIs (e.g. `http://xcap/xcap-root/resource-lists/users/
 * sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22oma_grantedcontacts%22%5D`).
 * Either resolve them beforehand (`collectExternalListAnchors` + `resolveExternalLists`, which
 * the server can cache per rules document) and pass `externalLists` to the synchronous
 * `evaluatePresRules`, or call `authorizeWatcher` with an (async) resolver.
 */
import { canonicalAor } from "../sip/aor";
import {
  emptyProvideSet,
  PROVIDE_USER_INPUT_ORDER,
  SUB_HANDLING_ORDER,
  type IdentityCondition,
  type PresRule,
  type PresRules,
  type ProvideSet,
  type RuleConditions,
  type SubHandling,
  type Transformations,
} from "./pres-rules";

export interface WatcherIdentity {
  /** The watcher's identity (From / P-Asserted-Identity), when known. */
  uri?: string;
  /** True when the identity was authenticated (digest, trusted asserted identity). */
  authenticated: boolean;
}

export type ExternalListResolver = (anchor: string) => Promise<Iterable<string>> | Iterable<string>;

export interface EvaluateOptions extends ConditionOptions {
  /** Sub-handling when no rule matches (default "block", RFC 5025 §3.2.1). */
  unmatchedSubHandling?: SubHandling;
  /** Sub-handling when there is no rules document (default "confirm"). */
  noRulesSubHandling?: SubHandling;
  /** See the module comment. Default "all". */
  unspecifiedTransformations?: "all" | "none";
}

export interface Permissions {
  subHandling: SubHandling;
  /** Ids of the matching rules, in document order. */
  matchedRules: string[];
  transformations: Transformations;
  /** True when the full document is granted because no matching rule specified transformations. */
  transformationsDefaulted: boolean;
}

function hostOf(canonical: string): string {
  const at = canonical.lastIndexOf("@");
  const colon = canonical.indexOf(":");
  return canonical.slice(at >= 0 ? at + 1 : colon + 1).replace(/:\d+$/, "");
}

export function isAnonymous(w: WatcherIdentity): boolean {
  if (!w.authenticated || !w.uri) return true;
  return hostOf(canonicalAor(w.uri)) === "anonymous.invalid";
}

/**
 * Canonical forms of a list of addresses (an identity condition's `one` ids, an external list's
 * members), computed once per list object: a cached rules document is evaluated for every new
 * watcher, and a Blink list has hundreds of entries. Lists are read, never changed, once evaluated.
 */
const canonicalSets = new WeakMap<object, ReadonlySet<string>>();
function canonicalSet(list: Iterable<string> & object): ReadonlySet<string> {
  let set = canonicalSets.get(list);
  if (!set) {
    set = new Set(Array.from(list, canonicalAor));
    canonicalSets.set(list, set);
  }
  return set;
}

function identityMatches(cond: IdentityCondition, watcher: string): boolean {
  if (canonicalSet(cond.ones).has(watcher)) return true;
  const host = hostOf(watcher);
  return cond.manys.some(
    (m) =>
      (m.domain === undefined || m.domain.toLowerCase() === host) &&
      !m.excepts.some((e) => (e.id !== undefined && canonicalAor(e.id) === watcher) || (e.domain !== undefined && e.domain.toLowerCase() === host)),
  );
}

function inExternalList(anchors: readonly string[], watcher: string, lists: ReadonlyMap<string, Iterable<string>> | undefined): boolean {
  return anchors.some((a) => {
    const members = lists?.get(a);
    return members !== undefined && canonicalSet(members).has(watcher);
  });
}

/** Every external-list anchor of the rules document (to resolve before evaluation). */
export function collectExternalListAnchors(rules: PresRules): string[] {
  return [...new Set(rules.rules.flatMap((r) => r.conditions.externalLists ?? []))];
}

/** Resolve every anchor with `resolver` (in parallel); failures propagate. */
export async function resolveExternalLists(
  rules: PresRules,
  resolver: ExternalListResolver,
): Promise<Map<string, Set<string>>> {
  const anchors = collectExternalListAnchors(rules);
  const members = await Promise.all(anchors.map(async (a) => [...(await resolver(a))]));
  return new Map(anchors.map((a, i) => [a, new Set(members[i])]));
}

function emptyTransformations(): Transformations {
  return { booleans: {}, unknownAttributes: {} };
}

function mergeSet(a: ProvideSet | undefined, b: ProvideSet | undefined): ProvideSet | undefined {
  if (!b) return a;
  if (!a) return { ...b, serviceUris: [...b.serviceUris], serviceUriSchemes: [...b.serviceUriSchemes], deviceIds: [...b.deviceIds], occurrenceIds: [...b.occurrenceIds], classes: [...b.classes] };
  const u = (x: string[], y: string[]) => [...new Set([...x, ...y])];
  return {
    all: a.all || b.all,
    serviceUris: u(a.serviceUris, b.serviceUris),
    serviceUriSchemes: u(a.serviceUriSchemes, b.serviceUriSchemes),
    deviceIds: u(a.deviceIds, b.deviceIds),
    occurrenceIds: u(a.occurrenceIds, b.occurrenceIds),
    classes: u(a.classes, b.classes),
  };
}

/** RFC 4745 §10 combination of the transformations of the matching rules. */
function combine(rules: readonly PresRule[]): Transformations {
  const out = emptyTransformations();
  for (const r of rules) {
    const t = r.transformations;
    out.provideServices = mergeSet(out.provideServices, t.provideServices);
    out.providePersons = mergeSet(out.providePersons, t.providePersons);
    out.provideDevices = mergeSet(out.provideDevices, t.provideDevices);
    if (t.provideAllAttributes) out.provideAllAttributes = true;
    for (const [k, v] of Object.entries(t.booleans)) out.booleans[k] = (out.booleans[k] ?? false) || v;
    for (const [k, v] of Object.entries(t.unknownAttributes)) out.unknownAttributes[k] = (out.unknownAttributes[k] ?? false) || v;
    if (t.provideUserInput && (!out.provideUserInput || PROVIDE_USER_INPUT_ORDER.indexOf(t.provideUserInput) > PROVIDE_USER_INPUT_ORDER.indexOf(out.provideUserInput))) {
      out.provideUserInput = t.provideUserInput;
    }
  }
  return out;
}

/** Permissions that show the whole document. */
export function fullTransformations(): Transformations {
  return {
    provideServices: emptyProvideSet(true),
    providePersons: emptyProvideSet(true),
    provideDevices: emptyProvideSet(true),
    provideAllAttributes: true,
    booleans: {},
    unknownAttributes: {},
  };
}

/** What the conditions of a rule are evaluated against (RFC 4745 §7), beside the watcher. */
export interface ConditionOptions {
  /** Default new Date(). */
  now?: Date | number;
  /** Pre-resolved external lists: anchor → member URIs. An anchor missing here matches nobody. */
  externalLists?: ReadonlyMap<string, Iterable<string>>;
  /** The rule owner's current RPID sphere (for `sphere` conditions). */
  sphere?: string;
}

/**
 * The rules whose conditions all hold for `watcher` (RFC 4745 §7 + OMA conditions, see the module
 * comment), in document order. Any common-policy usage (pres-rules, im-rules) combines their actions.
 */
export function matchingRules<R extends { conditions: RuleConditions }>(rules: readonly R[], watcher: WatcherIdentity, options: ConditionOptions = {}): R[] {
  const now = options.now === undefined ? Date.now() : typeof options.now === "number" ? options.now : options.now.getTime();
  const anonymous = isAnonymous(watcher);
  const who = anonymous ? "" : canonicalAor(watcher.uri as string);
  const lists = options.externalLists;

  // OMA other-identity: does any identity/external-list condition of any rule name the watcher?
  const namedSomewhere =
    !anonymous &&
    rules.some(
      (r) =>
        (r.conditions.identity !== undefined && identityMatches(r.conditions.identity, who)) ||
        (r.conditions.externalLists !== undefined && inExternalList(r.conditions.externalLists, who, lists)),
    );

  return rules.filter((r) => {
    const c = r.conditions;
    if (c.unknown.length) return false;
    if (c.identity && (anonymous || !identityMatches(c.identity, who))) return false;
    if (c.externalLists && (anonymous || !inExternalList(c.externalLists, who, lists))) return false;
    if (c.sphere && (options.sphere === undefined || !c.sphere.includes(options.sphere))) return false;
    if (c.validity && !c.validity.some((v) => Date.parse(v.from) <= now && now < Date.parse(v.until))) return false;
    if (c.anonymousRequest && !anonymous) return false;
    if (c.otherIdentity && (anonymous || namedSomewhere)) return false;
    return true;
  });
}

/** Evaluate synchronously (external lists pre-resolved). `rules` undefined = no rules document. */
export function evaluatePresRules(rules: PresRules | undefined, watcher: WatcherIdentity, options: EvaluateOptions = {}): Permissions {
  if (!rules) {
    return { subHandling: options.noRulesSubHandling ?? "confirm", matchedRules: [], transformations: emptyTransformations(), transformationsDefaulted: false };
  }
  const matching = matchingRules(rules.rules, watcher, options);

  let subHandling: SubHandling | undefined;
  for (const r of matching) {
    if (r.subHandling && (!subHandling || SUB_HANDLING_ORDER.indexOf(r.subHandling) > SUB_HANDLING_ORDER.indexOf(subHandling))) {
      subHandling = r.subHandling;
    }
  }
  const final = subHandling ?? options.unmatchedSubHandling ?? "block";
  const specified = matching.some((r) => r.hasTransformations);
  const defaulted = final === "allow" && !specified && (options.unspecifiedTransformations ?? "all") === "all";
  return {
    subHandling: final,
    matchedRules: matching.map((r) => r.id),
    transformations: defaulted ? fullTransformations() : combine(matching),
    transformationsDefaulted: defaulted,
  };
}

export interface AuthorizeOptions extends Omit<EvaluateOptions, "externalLists"> {
  /** Resolver for OMA external-list anchors (async allowed). Without it, external lists match nobody. */
  resolveExternalList?: ExternalListResolver;
  /** Pre-resolved lists; anchors found here are not passed to the resolver. */
  externalLists?: ReadonlyMap<string, Iterable<string>>;
}

/** Resolve the external lists the rules reference, then evaluate. */
export async function authorizeWatcher(rules: PresRules | undefined, watcher: WatcherIdentity, options: AuthorizeOptions = {}): Promise<Permissions> {
  const lists = new Map<string, Iterable<string>>(options.externalLists ?? []);
  if (rules && options.resolveExternalList) {
    const missing = collectExternalListAnchors(rules).filter((a) => !lists.has(a));
    const resolver = options.resolveExternalList;
    const resolved = await Promise.all(missing.map(async (a) => [a, [...(await resolver(a))]] as const));
    for (const [a, m] of resolved) lists.set(a, m);
  }
  return evaluatePresRules(rules, watcher, { ...options, externalLists: lists });
}
