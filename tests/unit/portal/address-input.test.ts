import { describe, expect, it } from "vitest";
import { sipAddressInput } from "../../../lib/portal/address-input";

describe("the portal's contact address input (app/actions.ts)", () => {
  it("gives the canonical AOR", () => {
    expect(sipAddressInput.parse(" bob@Example.COM ")).toBe("sip:bob@example.com");
    expect(sipAddressInput.parse("sips:bob@example.com;transport=tls")).toBe("sip:bob@example.com");
  });
  it("refuses sipbob@x with a message that says what is wrong", () => {
    const r = sipAddressInput.safeParse("sipbob@x");
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('malformed SIP address "sipbob@x": "x" is not a full domain name; expected user@domain such as bob@example.com');
  });
  it.each(["bo#b@example.test", "bob", "tel:+15551234567", "<script>@example.com"])("refuses %j", (v) => {
    expect(sipAddressInput.safeParse(v).success).toBe(false);
  });
});
