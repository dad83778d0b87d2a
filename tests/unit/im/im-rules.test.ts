import { describe, expect, it } from "vitest";
import { evaluateImRules, hasSphereCondition, parseImRules, publishedSphere } from "@/lib/im";
import { parsePidf } from "@/lib/presence";
import { evaluatePresRules, parsePresRules } from "@/lib/presence";

const CP = `xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:im="urn:iptel:xml:ns:im-rules" xmlns:ocp="urn:oma:xml:xdm:common-policy"`;
const LIST = "https://xcap.example.test/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22friends%22%5D";
const bob = { uri: "sip:bob@example.test", authenticated: true };
const carol = { uri: "sip:carol@example.test", authenticated: true };
const mallory = { uri: "sip:mallory@evil.test", authenticated: true };
const anon = { uri: "sip:anonymous@anonymous.invalid", authenticated: false };

const doc = (rules: string) => parseImRules(`<ruleset ${CP}>${rules}</ruleset>`);
const allow = (cond: string, id = "r") => `<rule id="${id}"><conditions>${cond}</conditions><actions><im:im-handling>allow</im:im-handling></actions></rule>`;
const block = (cond: string, id = "b") => `<rule id="${id}"><conditions>${cond}</conditions><actions><im:im-handling>block</im:im-handling></actions></rule>`;

describe("im-rules evaluation (RFC 4745 conditions, im-handling action)", () => {
  it("no document: authenticated users of the served domains allowed, anonymous and other domains refused", () => {
    const o = { servedDomains: ["example.test"] };
    expect(evaluateImRules(undefined, bob, o)).toEqual({ imHandling: "allow", matchedRules: [], defaulted: true });
    expect(evaluateImRules(undefined, { uri: "sip:bob@EXAMPLE.test", authenticated: true }, o).imHandling).toBe("allow");
    expect(evaluateImRules(undefined, mallory, o).imHandling).toBe("block");
    expect(evaluateImRules(undefined, anon, o).imHandling).toBe("block");
    expect(evaluateImRules(undefined, { uri: "sip:bob@example.test", authenticated: false }, o).imHandling).toBe("block");
  });

  it("identity one / many with except and domain", () => {
    const r = doc(allow(`<identity><one id="sip:bob@example.test"/><many domain="example.test"><except id="sip:carol@example.test"/></many></identity>`));
    expect(evaluateImRules(r, bob).imHandling).toBe("allow");
    expect(evaluateImRules(r, { uri: "sip:dave@example.test", authenticated: true }).imHandling).toBe("allow");
    expect(evaluateImRules(r, carol).imHandling).toBe("block");
    expect(evaluateImRules(r, mallory).imHandling).toBe("block");
    expect(evaluateImRules(r, { uri: "sip:bob@example.test", authenticated: false }).imHandling).toBe("block");
  });

  it("combining takes the maximum: allow wins over block; a matching rule without im-handling and no match block", () => {
    const r = doc(allow(`<identity><many/></identity>`, "all") + block(`<identity><one id="sip:bob@example.test"/></identity>`));
    expect(evaluateImRules(r, bob)).toEqual({ imHandling: "allow", matchedRules: ["all", "b"], defaulted: false });
    const onlyBlock = doc(block(`<identity><one id="sip:bob@example.test"/></identity>`) + `<rule id="n"><conditions/></rule>`);
    expect(evaluateImRules(onlyBlock, bob).imHandling).toBe("block");
    expect(evaluateImRules(onlyBlock, carol)).toEqual({ imHandling: "block", matchedRules: ["n"], defaulted: false });
    expect(evaluateImRules(doc(""), bob).imHandling).toBe("block");
  });

  it("sphere and validity", () => {
    const r = doc(allow(`<sphere value="work"/>`, "s") + allow(`<validity><from>2026-01-01T00:00:00Z</from><until>2026-02-01T00:00:00Z</until></validity>`, "v"));
    expect(evaluateImRules(r, bob, { sphere: "work", now: Date.parse("2025-01-01") }).matchedRules).toEqual(["s"]);
    expect(evaluateImRules(r, bob, { sphere: "home", now: Date.parse("2025-01-01") }).imHandling).toBe("block");
    expect(evaluateImRules(r, bob, { now: Date.parse("2026-01-15") }).matchedRules).toEqual(["v"]);
    expect(evaluateImRules(r, bob, { now: Date.parse("2026-02-01") }).imHandling).toBe("block");
  });

  it("sphere: the recipient's published sphere (RFC 4480 §3.2) is what a sphere condition (RFC 4745 §7.2) is evaluated against", () => {
    const r = doc(allow(`<sphere value="work meeting"/>`, "busy-hours"));
    expect(hasSphereCondition(r)).toBe(true);
    expect(hasSphereCondition(doc(allow(`<identity><one id="sip:bob@example.test"/></identity>`)))).toBe(false);
    expect(hasSphereCondition(undefined)).toBe(false);
    const pidf = (person: string) =>
      parsePidf(`<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example.test">${person}</presence>`);
    const atWork = publishedSphere(pidf(`<dm:person id="p"><rpid:sphere><rpid:work/></rpid:sphere></dm:person>`));
    const inMeeting = publishedSphere(pidf(`<dm:person id="p"><rpid:sphere>meeting</rpid:sphere></dm:person>`));
    const none = publishedSphere(pidf(`<dm:person id="p"/>`));
    expect([atWork, inMeeting, none, publishedSphere(undefined)]).toEqual(["work", "meeting", undefined, undefined]);
    expect(evaluateImRules(r, bob, { sphere: atWork }).imHandling).toBe("allow");
    expect(evaluateImRules(r, bob, { sphere: inMeeting }).imHandling).toBe("allow");
    expect(evaluateImRules(r, bob, { sphere: "home" }).imHandling).toBe("block");
    expect(evaluateImRules(r, bob, { sphere: none }).imHandling).toBe("block"); // nothing published: the condition does not hold
  });

  it("OMA external-list, other-identity and anonymous-request, as pres-rules", () => {
    const r = doc(
      allow(`<ocp:external-list><ocp:entry anc="${LIST}"/></ocp:external-list>`, "friends") +
        block(`<ocp:other-identity/>`, "others") +
        block(`<ocp:anonymous-request/>`, "anon"),
    );
    const lists = new Map([[LIST, ["sip:bob@example.test"]]]);
    expect(evaluateImRules(r, bob, { externalLists: lists })).toMatchObject({ imHandling: "allow", matchedRules: ["friends"] });
    expect(evaluateImRules(r, carol, { externalLists: lists })).toMatchObject({ imHandling: "block", matchedRules: ["others"] });
    expect(evaluateImRules(r, anon, { externalLists: lists })).toMatchObject({ imHandling: "block", matchedRules: ["anon"] });
    expect(evaluateImRules(r, bob).imHandling).toBe("block"); // list not resolved: matches nobody
  });

  it("an unknown condition makes its rule never match (RFC 4745 §7)", () => {
    const r = doc(allow(`<x:future xmlns:x="urn:example:x"/>`));
    expect(evaluateImRules(r, bob).imHandling).toBe("block");
  });

  it("matches exactly the rules pres-rules evaluation matches for the same conditions", () => {
    const conds = [
      `<identity><many domain="example.test"><except domain="evil.test"/></many></identity>`,
      `<identity><one id="sip:%62ob@example.test"/></identity>`,
      `<ocp:other-identity/>`,
    ];
    for (const c of conds) {
      const im = doc(allow(c));
      const pr = parsePresRules(`<ruleset xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:ocp="urn:oma:xml:xdm:common-policy"><rule id="r"><conditions>${c}</conditions><actions><pr:sub-handling>allow</pr:sub-handling></actions></rule></ruleset>`);
      for (const w of [bob, carol, mallory, anon]) {
        expect([c, w.uri, evaluateImRules(im, w).matchedRules]).toEqual([c, w.uri, evaluatePresRules(pr, w).matchedRules]);
      }
    }
  });

  it("refuses what is not a common-policy ruleset, with a 400 error", () => {
    expect(() => parseImRules(`<ruleset xmlns="urn:example"/>`)).toThrow(expect.objectContaining({ code: "wrong-root", status: 400 }));
    expect(() => parseImRules(`<ruleset`)).toThrow(expect.objectContaining({ code: "not-xml", status: 400 }));
  });
});
