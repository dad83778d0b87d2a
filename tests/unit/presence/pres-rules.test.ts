import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseExternalListAnchor } from "../../../lib/presence/external-list-anchor";
import { parsePresRules } from "../../../lib/presence/pres-rules";
import {
  authorizeWatcher,
  collectExternalListAnchors,
  evaluatePresRules,
  resolveExternalLists,
} from "../../../lib/presence/pres-rules-evaluation";
import { PresencePayloadError } from "../../../lib/presence/errors";
import { canonicalAor } from "../../../lib/sip/aor";
import { expectValidXml } from "./xsd";

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/presence/${name}`, import.meta.url), "utf8");
const BLINK = fixture("blink-pres-rules.xml");
const RFC5025 = fixture("rfc5025-example.xml");
const RFC4745 = fixture("rfc4745-many-validity.xml");
const GRANTED = "http://xcap.example.test/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22oma_grantedcontacts%22%5D";
const BLOCKED = GRANTED.replace("oma_grantedcontacts", "oma_blockedcontacts");
const lists = new Map([
  [GRANTED, ["sip:bob@example.test", "sip:dave@example.test"]],
  [BLOCKED, ["sip:mallory@example.test", "sip:dave@example.test"]],
]);
const who = (uri: string) => ({ uri, authenticated: true });

describe("parsePresRules", () => {
  it("the fixtures are schema-valid and parse", async () => {
    for (const x of [BLINK, RFC5025, RFC4745]) await expectValidXml(x);
    const rules = parsePresRules(BLINK);
    expect(rules.rules.map((r) => [r.id, r.subHandling])).toEqual([
      ["wp_prs_allow_own", "allow"],
      ["wp_prs_grantedcontacts", "allow"],
      ["wp_prs_blockedcontacts", "polite-block"],
      ["wp_prs_unlisted", "confirm"],
      ["wp_prs_block_anonymous", "block"],
    ]);
    expect(rules.rules[1].conditions.externalLists).toEqual([GRANTED]);
    expect(rules.rules[3].conditions.otherIdentity).toBe(true);
    expect(rules.rules[4].conditions.anonymousRequest).toBe(true);
    const rfc = parsePresRules(RFC5025).rules[0];
    expect(rfc.transformations.provideServices).toMatchObject({ all: false, serviceUriSchemes: ["sip", "mailto"] });
    expect(rfc.transformations.providePersons?.all).toBe(true);
    expect(rfc.transformations.booleans).toEqual({ "provide-activities": true });
    expect(rfc.transformations.provideUserInput).toBe("bare");
    expect(rfc.transformations.unknownAttributes).toEqual({ "{urn:vendor-specific:foo-namespace}foo": true });
    expect(() => parsePresRules("<ruleset/>")).toThrow(PresencePayloadError);
  });

  it("keeps no DOM node: the parsed rules are plain data (cached per presentity while the document stays)", () => {
    for (const x of [BLINK, RFC5025, RFC4745]) {
      const seen = new Set<unknown>();
      const walk = (v: unknown, path: string): void => {
        if (typeof v !== "object" || v === null || seen.has(v)) return;
        seen.add(v);
        expect(Object.getPrototypeOf(v) === Object.prototype || Array.isArray(v), `${path} is a ${(v as object).constructor?.name}`).toBe(true);
        for (const [k, c] of Object.entries(v)) walk(c, `${path}.${k}`);
      };
      walk(parsePresRules(x), "rules");
    }
  });

  it("parses anchors into XCAP parts", () => {
    expect(parseExternalListAnchor(GRANTED)).toEqual({
      xcapRoot: "http://xcap.example.test/xcap-root",
      auid: "resource-lists",
      tree: "users",
      xui: "sip:alice@example.test",
      document: "index",
      nodeSelector: '/resource-lists/list[@name="oma_grantedcontacts"]',
      listName: "oma_grantedcontacts",
    });
    expect(parseExternalListAnchor("not a uri")).toBeUndefined();
  });
});

describe("evaluatePresRules — Blink's wp_prs_* rules (RFC 4745 combining)", () => {
  const rules = parsePresRules(BLINK);
  const ev = (uri: string | undefined, authenticated = true) =>
    evaluatePresRules(rules, { uri, authenticated }, { externalLists: lists });

  it("granted contacts are allowed and see everything (no transformations given)", () => {
    const p = ev("sip:bob@example.test");
    expect(p).toMatchObject({ subHandling: "allow", matchedRules: ["wp_prs_grantedcontacts"], transformationsDefaulted: true });
    expect(p.transformations.provideServices?.all).toBe(true);
  });
  it("blocked contacts get polite-block", () => {
    expect(ev("sip:mallory@example.test")).toMatchObject({ subHandling: "polite-block", matchedRules: ["wp_prs_blockedcontacts"] });
  });
  it("in both lists: the most permissive wins (allow), unlike Kamailio's first match", () => {
    expect(ev("sip:dave@example.test")).toMatchObject({ subHandling: "allow", matchedRules: ["wp_prs_grantedcontacts", "wp_prs_blockedcontacts"] });
  });
  it("unlisted identities get confirm via other-identity", () => {
    expect(ev("sip:carol@example.test")).toMatchObject({ subHandling: "confirm", matchedRules: ["wp_prs_unlisted"] });
  });
  it("anonymous requests are blocked (other-identity does not match them)", () => {
    expect(ev(undefined, false)).toMatchObject({ subHandling: "block", matchedRules: ["wp_prs_block_anonymous"] });
    expect(ev("sip:carol@example.test", false).subHandling).toBe("block");
    expect(ev("sip:anonymous@anonymous.invalid").subHandling).toBe("block");
  });
  it("the owner is allowed via identity; URI comparison ignores parameters and host case", () => {
    expect(ev("<sip:alice@EXAMPLE.test;transport=tcp>")).toMatchObject({ subHandling: "allow", matchedRules: ["wp_prs_allow_own"] });
    expect(canonicalAor("sips:Bob@Example.TEST:5061;x=y")).toBe("sip:Bob@example.test"); // the one AOR normaliser: no port
  });
  it("unresolved external lists match nobody", () => {
    expect(evaluatePresRules(rules, who("sip:bob@example.test")).subHandling).toBe("confirm");
  });

  it("resolves external lists asynchronously", async () => {
    const asked: string[] = [];
    const resolver = async (anchor: string) => {
      asked.push(parseExternalListAnchor(anchor)?.listName ?? "?");
      return lists.get(anchor) ?? [];
    };
    expect((await authorizeWatcher(rules, who("sip:bob@example.test"), { resolveExternalList: resolver })).subHandling).toBe("allow");
    expect(asked.sort()).toEqual(["oma_blockedcontacts", "oma_grantedcontacts"]);
    expect(collectExternalListAnchors(rules)).toEqual([GRANTED, BLOCKED]);
    const resolved = await resolveExternalLists(rules, (a) => lists.get(a) ?? []);
    expect(evaluatePresRules(rules, who("sip:mallory@example.test"), { externalLists: resolved }).subHandling).toBe("polite-block");
  });
});

describe("evaluatePresRules — RFC 4745 / 5025 conditions", () => {
  it("no rules document: confirm; rules that match nothing: block", () => {
    expect(evaluatePresRules(undefined, who("sip:x@example.com")).subHandling).toBe("confirm");
    expect(evaluatePresRules(parsePresRules(RFC5025), who("sip:x@example.com"))).toMatchObject({ subHandling: "block", matchedRules: [] });
  });
  it("RFC 5025 example: the named user gets allow with its transformations", () => {
    const p = evaluatePresRules(parsePresRules(RFC5025), who("sip:user@example.com"));
    expect(p).toMatchObject({ subHandling: "allow", matchedRules: ["a"], transformationsDefaulted: false });
    expect(p.transformations.provideUserInput).toBe("bare");
  });
  it("many/except/domain, validity and sphere", () => {
    const rules = parsePresRules(RFC4745);
    const in2026 = { now: Date.parse("2026-06-01T00:00:00Z") };
    expect(evaluatePresRules(rules, who("sip:bob@example.com"), in2026)).toMatchObject({ subHandling: "allow", matchedRules: ["f3g44r1"] });
    // except id
    expect(evaluatePresRules(rules, who("sip:alice@example.com"), in2026).subHandling).toBe("block");
    // outside validity
    expect(evaluatePresRules(rules, who("sip:bob@example.com"), { now: Date.parse("2027-06-01T00:00:00Z") }).subHandling).toBe("block");
    // sphere
    expect(evaluatePresRules(rules, who("sip:x@other.example"), { ...in2026, sphere: "work" })).toMatchObject({ subHandling: "confirm", matchedRules: ["work-sphere"] });
    expect(evaluatePresRules(rules, who("sip:x@other.example"), { ...in2026, sphere: "home" }).subHandling).toBe("block");
    // domain match and combination: block + confirm (sphere) → confirm
    expect(evaluatePresRules(rules, who("sip:x@bad.example"), { ...in2026, sphere: "work" })).toMatchObject({ subHandling: "confirm", matchedRules: ["work-sphere", "block-bad-domain"] });
    // a condition not understood never matches
    expect(evaluatePresRules(rules, who("sip:x@paris.example"), in2026).matchedRules).not.toContain("unknown-condition");
    // anonymous never matches identity
    expect(evaluatePresRules(rules, { uri: "sip:bob@example.com", authenticated: false }, in2026).subHandling).toBe("block");
  });
  it("combines transformations: OR of booleans, max user-input, union of sets", () => {
    const doc = `<cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
      <cr:rule id="r1"><cr:actions><pr:sub-handling>confirm</pr:sub-handling></cr:actions><cr:transformations>
        <pr:provide-services><pr:service-uri>sip:a@x</pr:service-uri></pr:provide-services><pr:provide-note>true</pr:provide-note><pr:provide-user-input>thresholds</pr:provide-user-input></cr:transformations></cr:rule>
      <cr:rule id="r2"><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions><cr:transformations>
        <pr:provide-services><pr:service-uri>sip:b@x</pr:service-uri></pr:provide-services><pr:provide-note>false</pr:provide-note><pr:provide-mood>true</pr:provide-mood><pr:provide-user-input>bare</pr:provide-user-input></cr:transformations></cr:rule>
    </cr:ruleset>`;
    const p = evaluatePresRules(parsePresRules(doc), who("sip:z@x"));
    expect(p.subHandling).toBe("allow");
    expect(p.transformations.provideServices?.serviceUris).toEqual(["sip:a@x", "sip:b@x"]);
    expect(p.transformations.booleans).toEqual({ "provide-note": true, "provide-mood": true });
    expect(p.transformations.provideUserInput).toBe("thresholds");
  });
});
