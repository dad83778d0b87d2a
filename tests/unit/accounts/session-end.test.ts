/** Which session tokens still stand for an account, and what the user is told when not. */
import { describe, expect, it } from "vitest";
import { sessionEndReason } from "@/lib/accounts/revocations";
import { REVOCATION_MESSAGES, sessionEndMessage } from "@/lib/accounts/session-end";

const acc = { id: 7, disabled: false, sessionEpoch: 2 };

describe("sessionEndReason", () => {
  it("accepts the token of this account's current epoch", () => {
    expect(sessionEndReason({ sub: "7", epoch: 2 }, acc)).toBeUndefined();
  });

  it.each([
    [{ sub: "7", epoch: 2 }, null, "deleted"],
    [{ sub: "8", epoch: 2 }, acc, "deleted"], // another account under the same address
    [{ sub: "7", epoch: 2 }, { ...acc, disabled: true }, "disabled"],
    [{ sub: "7", epoch: 1 }, acc, "ended"], // password changed (or disabled and enabled again) since the login
    [{ sub: "7" }, acc, "ended"], // issued before session epochs existed
    [{ sub: "7", epoch: "2" }, acc, "ended"],
  ] as const)("refuses %j for %j: %s", (token, account, reason) => {
    expect(sessionEndReason(token, account)).toBe(reason);
  });
});

describe("sessionEndMessage", () => {
  it("has a fixed text per reason and a generic one for anything else (never echoes its input)", () => {
    expect(sessionEndMessage("disabled")).toBe(REVOCATION_MESSAGES.disabled);
    expect(sessionEndMessage("password-changed")).toMatch(/password was changed/);
    expect(sessionEndMessage("<script>")).toBe(REVOCATION_MESSAGES.ended);
    expect(sessionEndMessage(undefined)).toBe(REVOCATION_MESSAGES.ended);
  });
});
