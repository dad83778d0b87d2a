import { describe, expect, it } from "vitest";
import { setup, xcapErrorCondition } from "./helpers";

const IM = "im-rules/users/sip:alice@example.test/index";
const MIME = "application/auth-policy+xml";
const NS = `xmlns="urn:ietf:params:xml:ns:common-policy" xmlns:im="urn:iptel:xml:ns:im-rules" xmlns:ocp="urn:oma:xml:xdm:common-policy"`;
const GOOD = `<?xml version="1.0" encoding="UTF-8"?>
<ruleset ${NS}>
  <rule id="friends"><conditions><identity><many domain="example.test"><except id="sip:mallory@example.test"/></many></identity></conditions><actions><im:im-handling>allow</im:im-handling></actions><transformations/></rule>
  <rule id="list"><conditions><ocp:external-list><ocp:entry anc="https://xcap.example.test/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22friends%22%5D"/></ocp:external-list></conditions><actions><im:im-handling>allow</im:im-handling></actions></rule>
  <rule id="anon"><conditions><ocp:anonymous-request/></conditions><actions><im:im-handling>block</im:im-handling></actions></rule>
</ruleset>`;

describe("XCAP application usage im-rules", () => {
  it("stores a valid document under auid im-rules, document index; node selectors default to the im-rules namespace", async () => {
    const s = setup();
    expect((await s.put(IM, GOOD, MIME)).status).toBe(201);
    expect(s.events.at(-1)).toMatchObject({ auid: "im-rules", user: "sip:alice@example.test" });
    const q = "xmlns(cr=urn:ietf:params:xml:ns:common-policy)";
    const r = await s.call({ path: `${IM}/~~/cr:ruleset/cr:rule%5B@id=%22friends%22%5D/cr:actions/im-handling`, query: q });
    expect(r.status).toBe(200);
    expect(r.text).toBe("<im:im-handling>allow</im:im-handling>");
    expect((await s.call({ path: "xcap-caps/global/index" })).text).toContain("<auid>im-rules</auid>");
  });

  const bad: Array<[string, string]> = [
    ["a bad im-handling", `<ruleset ${NS}><rule id="a"><actions><im:im-handling>maybe</im:im-handling></actions></rule></ruleset>`],
    ["two im-handling", `<ruleset ${NS}><rule id="a"><actions><im:im-handling>allow</im:im-handling><im:im-handling>block</im:im-handling></actions></rule></ruleset>`],
    ["an unknown im-rules action", `<ruleset ${NS}><rule id="a"><actions><im:forward>x</im:forward></actions></rule></ruleset>`],
    ["an im-rules transformation", `<ruleset ${NS}><rule id="a"><transformations><im:im-handling>allow</im:im-handling></transformations></rule></ruleset>`],
    ["a duplicate rule id", `<ruleset ${NS}><rule id="a"/><rule id="a"/></ruleset>`],
    ["a bad condition", `<ruleset ${NS}><rule id="a"><conditions><identity><one/></identity></conditions></rule></ruleset>`],
    ["an unknown OMA condition", `<ruleset ${NS}><rule id="a"><conditions><ocp:whatever/></conditions></rule></ruleset>`],
    ["another root", `<ruleset xmlns="urn:iptel:xml:ns:im-rules"/>`],
  ];
  for (const [name, doc] of bad) {
    it(`refuses ${name} (schema-validation-error, nothing stored)`, async () => {
      const s = setup();
      const r = await s.put(IM, doc, MIME);
      expect(r.status).toBe(409);
      expect(xcapErrorCondition(r.text)).toBe("schema-validation-error");
      expect(s.store.size).toBe(0);
    });
  }
});
