import { describe, expect, it } from "vitest";
import { AVATAR_COLOURS, avatarColour, initialsOf } from "../../../components/presence/initials";
import { friendlyDeviceName } from "../../../components/presence/device-name";
import { seenText } from "../../../components/buddy-list/buddy-list";
import { badgedFaviconUrl, titleFor } from "../../../components/buddy-list/attention";
import { clearAfterUntil, untilText } from "../../../components/my-presence/status-choices";
import { MAX_NOTE_LENGTH, noteError, noteLength } from "../../../components/my-presence/note-field";
import { setGroupsOptimistic, type AddressBookModel } from "../../../components/buddy-list/model-ops";

describe("initials in every script", () => {
  it("takes whole graphemes: an emoji is never cut into a lone surrogate", () => {
    expect(initialsOf("🎉 Party")).toBe("PA");
    expect(initialsOf("👩🏽‍💻")).toBe("👩🏽‍💻");
    expect(initialsOf("Ana 👋🏾 Lima")).toBe("AL");
    for (const n of ["🎉 Party", "Zoë 🇫🇷", "👨‍👩‍👧 Family"]) expect(initialsOf(n)).not.toMatch(/[\uD800-\uDFFF]/u);
  });

  it("skips punctuation and symbols", () => {
    expect(initialsOf("Dave (work)")).toBe("DW");
    expect(initialsOf("“Grace” Hopper")).toBe("GH");
    expect(initialsOf("sip:bob.smith@example.test")).toBe("BS");
    expect(initialsOf("alice@example.test")).toBe("AL");
    expect(initialsOf("...")).toBe(".");
    expect(initialsOf("")).toBe("?");
  });

  it("handles CJK, Arabic and combining marks", () => {
    expect(initialsOf("山田太郎")).toBe("山");
    expect(initialsOf("김민수")).toBe("김");
    expect(initialsOf("محمد علي")).toBe("مع");
    expect(initialsOf("e\u0301mile zola")).toBe("E\u0301Z");
  });

  it("gives a contact the same colour every time, from its address", () => {
    expect(avatarColour("sip:dave@example.test")).toBe(avatarColour("dave@example.test"));
    expect(AVATAR_COLOURS).toContain(avatarColour("sip:dave@example.test"));
    const colours = new Set(["a", "b", "c", "d", "e", "f", "g", "h"].map((u) => avatarColour(`sip:${u}@example.test`)));
    expect(colours.size).toBeGreaterThan(2);
  });
});

describe("human details", () => {
  it("names browsers and systems instead of user-agent strings", () => {
    expect(friendlyDeviceName("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")).toBe("Chrome on Linux");
    expect(friendlyDeviceName("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0")).toBe("Edge on Windows");
    expect(friendlyDeviceName("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")).toBe("Safari on iPhone");
    expect(friendlyDeviceName("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0")).toBe("Firefox on macOS");
    expect(friendlyDeviceName("Blink 6.0.4 (Linux)")).toBe("Blink 6.0.4 (Linux)");
    expect(friendlyDeviceName("  ")).toBeUndefined();
  });

  it("words idle time and last seen", () => {
    const now = Date.parse("2025-03-01T12:00:00Z");
    expect(seenText("idle", now - 12 * 60_000, now)).toBe("Idle 12 min");
    expect(seenText("idle", now - 3 * 3600_000, now)).toBe("Idle 3 h");
    expect(seenText("seen", now - 20_000, now)).toBe("Last seen just now");
    expect(seenText("seen", now - 5 * 60_000, now)).toBe("Last seen 5 min ago");
    expect(seenText("seen", now - 2 * 3600_000, now)).toBe("Last seen 2 h ago");
    expect(seenText("seen", now - 3 * 86400_000, now)).toMatch(/^Last seen \S/);
  });

  it("counts a note in characters people see and refuses a longer one with a message", () => {
    expect(noteLength("👩🏽‍💻 ok")).toBe(4);
    expect(noteError("x".repeat(MAX_NOTE_LENGTH))).toBeNull();
    expect(noteError("x".repeat(MAX_NOTE_LENGTH + 1))).toMatch(/201 characters.*at most 200/);
  });
});

describe("attention and timed status", () => {
  it("puts the request count in the title and the favicon", () => {
    expect(titleFor(0)).toBe("Buddy list — Herald");
    expect(titleFor(3)).toBe("(3) Buddy list — Herald");
    expect(decodeURIComponent(badgedFaviconUrl(2))).toContain(">2</text>");
    expect(decodeURIComponent(badgedFaviconUrl(12))).toContain(">9+</text>");
  });

  it("computes clear-after times", () => {
    const now = new Date("2025-03-01T10:00:00");
    expect(clearAfterUntil("", now)).toBeUndefined();
    expect(clearAfterUntil("30m", now)).toBe(new Date("2025-03-01T10:30:00").toISOString());
    expect(clearAfterUntil("4h", now)).toBe(new Date("2025-03-01T14:00:00").toISOString());
    expect(new Date(clearAfterUntil("today", now)!).getDate()).toBe(1);
    expect(untilText(new Date("2025-03-01T11:00:00").toISOString(), now)).toMatch(/^Clears at /);
    expect(untilText(new Date("2025-03-03T11:00:00").toISOString(), now)).toMatch(/^Clears \S+ /);
  });
});

describe("several groups", () => {
  it("puts a contact in exactly the chosen groups", () => {
    const m = {
      contacts: [{ id: "c1", name: "Dave", uris: [], groups: ["g1"], presence: { policy: "default", subscribe: true } }],
      groups: [
        { id: "g1", name: "Work", contactIds: ["c1"], attributes: {} },
        { id: "g2", name: "Friends", contactIds: [], attributes: {} },
      ],
    } as unknown as AddressBookModel;
    const both = setGroupsOptimistic(m, "c1", ["g1", "g2"]);
    expect(both.groups.map((g) => g.contactIds)).toEqual([["c1"], ["c1"]]);
    expect(both.contacts[0]!.groups).toEqual(["g1", "g2"]);
    const none = setGroupsOptimistic(both, "c1", []);
    expect(none.groups.map((g) => g.contactIds)).toEqual([[], []]);
    expect(none.contacts[0]!.groups).toEqual([]);
  });
});
