import { describe, expect, it } from "vitest";
import { SipError } from "../../../lib/sip";

describe("SipError", () => {
  it("carries the headers its response needs, none by default", () => {
    const e = new SipError(423, "Interval Too Brief", { headers: [["Min-Expires", "60"]] });
    expect([e.status, e.reason, e.message, e.headers]).toEqual([423, "Interval Too Brief", "423 Interval Too Brief", [["Min-Expires", "60"]]]);
    expect(new SipError(404, "Not Found").headers).toEqual([]);
  });
  it("keeps a cause", () => {
    const cause = new Error("x");
    expect(new SipError(500, "Server Internal Error", { cause }).cause).toBe(cause);
  });
});
