import { describe, expect, it } from "vitest";
import { internString, internStrings } from "../../../lib/sip/strings";

describe("internStrings (a subscription's Accept and Supported values)", () => {
  it("gives one shared frozen list per distinct value, whose strings are the interned ones", () => {
    const header = "Accept: application/pidf+xml, application/rlmi+xml, multipart/related";
    const a = internStrings(header.slice(8).split(", "));
    const b = internStrings(["application/pidf+xml", "application/rlmi+xml", "multipart/related"]);
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(a[0]).toBe(internString("application/pidf+xml"));
    expect(() => (a as string[]).push("x")).toThrow(TypeError);
  });

  it("tells lists apart by their elements and order, and shares one empty list", () => {
    const one = internStrings(["eventlist"]);
    expect(internStrings(["eventlist"])).toBe(one);
    expect(internStrings(["eventlist", "x"])).not.toBe(one);
    expect(internStrings(["x", "eventlist"])).not.toBe(internStrings(["eventlist", "x"]));
    expect(internStrings(["a\nb"])).toEqual(["a\nb"]);
    expect(internStrings(["a", "b"])).toEqual(["a", "b"]);
    expect(internStrings(["a\nb"])).toEqual(["a\nb"]);
    expect(internStrings([])).toBe(internStrings([]));
    expect(internStrings([])).toHaveLength(0);
  });
});
