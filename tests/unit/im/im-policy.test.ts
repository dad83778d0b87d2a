import { describe, expect, it } from "vitest";
import { composeImPolicy, evaluateImRules, imPolicyOf, parseImRules } from "@/lib/im";
import { setup } from "../xcap/server/helpers";

const ANCHOR = "https://xcap.example.test/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22oma_buddylist%22%5D";

describe("im-rules written by My Presence", () => {
  it("each choice reads back as itself, is valid for the XCAP usage, and decides as described", async () => {
    expect(composeImPolicy("everyone", ANCHOR)).toBeNull();
    expect(imPolicyOf(undefined)).toBe("everyone");
    const s = setup();
    for (const p of ["contacts", "nobody"] as const) {
      const xml = composeImPolicy(p, ANCHOR) as string;
      expect(imPolicyOf(parseImRules(xml))).toBe(p);
      expect((await s.put("im-rules/users/sip:alice@example.test/index", xml, "application/auth-policy+xml")).status).toBeLessThan(300);
    }
    const bob = { uri: "sip:bob@example.test", authenticated: true };
    const contacts = parseImRules(composeImPolicy("contacts", ANCHOR) as string);
    expect(evaluateImRules(contacts, bob, { externalLists: new Map([[ANCHOR, ["sip:bob@example.test"]]]) }).imHandling).toBe("allow");
    expect(evaluateImRules(contacts, bob, { externalLists: new Map([[ANCHOR, []]]) }).imHandling).toBe("block");
    expect(evaluateImRules(parseImRules(composeImPolicy("nobody", ANCHOR) as string), bob).imHandling).toBe("block");
    expect(imPolicyOf(parseImRules(`<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"><rule id="x"/></ruleset>`))).toBe("custom");
  });
});
