import { describe, expect, it } from "vitest";
import { contactDisplayName, noteLines } from "../../../components/buddy-list/contact-row";
import type { ContactPresence } from "../../../lib/client";

const terminated = (reason: string) => ({ state: "terminated", reason }) as unknown as ContactPresence;

describe("contact row note", () => {
  it("says what a terminated list member means: no such user, unreachable, or not sharing", () => {
    expect(noteLines(terminated("noresource"), true, false)).toEqual(["No such user"]);
    expect(noteLines(terminated("probation"), true, false)).toEqual(["Cannot be reached right now"]);
    expect(noteLines(terminated("rejected"), true, false)).toEqual(["Does not share status with you"]);
  });

  it("names a contact by its saved name, else its address — not by what it publishes", () => {
    expect(contactDisplayName("", ["sip:bob@example.test"])).toBe("bob@example.test");
    expect(contactDisplayName("Bob", ["sip:bob@example.test"])).toBe("Bob");
  });
});
