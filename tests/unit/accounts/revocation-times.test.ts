/** The in-memory revocation times behind refusing short-lived credentials issued before a revocation. */
import { describe, expect, it } from "vitest";
import { ephemeralRevocationCheck, forgetRevocationsBefore, noteRevocation } from "@/lib/accounts/revocations";

describe("revocation times", () => {
  const revoked = ephemeralRevocationCheck(3600);
  const at = Date.UTC(2026, 11, 6, 12, 0, 0, 500);
  const expiresIfIssued = (ms: number) => Math.floor(ms / 1000) + 3600;

  it("credentials issued in an earlier second are refused, the same second or later are not", () => {
    noteRevocation("rita@example.test", at);
    expect(revoked("rita@example.test", expiresIfIssued(at - 1000))).toBe(true);
    expect(revoked("rita@example.test", expiresIfIssued(at))).toBe(false);
    expect(revoked("rita@example.test", expiresIfIssued(at + 1000))).toBe(false);
    expect(revoked("sam@example.test", expiresIfIssued(at - 1000))).toBe(false);
  });

  it("an older time never replaces a newer one, and forgetting drops only times before the bound", () => {
    noteRevocation("tom@example.test", at);
    noteRevocation("tom@example.test", at - 60_000);
    expect(revoked("tom@example.test", expiresIfIssued(at - 30_000))).toBe(true);
    forgetRevocationsBefore(at - 1);
    expect(revoked("tom@example.test", expiresIfIssued(at - 30_000))).toBe(true);
    forgetRevocationsBefore(at + 1);
    expect(revoked("tom@example.test", expiresIfIssued(at - 30_000))).toBe(false);
  });
});
