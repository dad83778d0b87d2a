/** The page's view of xcap-diff NOTIFYs (RFC 5875): which application usages changed. */
import { describe, expect, it } from "vitest";
import { XcapDiffTracker } from "@/lib/client/xcap-diff-subscription";
import { composeXcapDiff, type XcapDiffDocument } from "@/lib/xcap/diff";

const ROOT = "http://localhost:3000/xcap-root";
const RL = "resource-lists/users/sip:alice@example.test/index";
const RULES = "org.openmobilealliance.pres-rules/users/sip:alice@example.test/index";
const PM = "pidf-manipulation/users/sip:alice@example.test/index";
const body = (...docs: XcapDiffDocument[]) => composeXcapDiff(ROOT, docs);

describe("XcapDiffTracker", () => {
  it("first full state: everything in it (initial); partial: what it names; a later full state: what differs", () => {
    const t = new XcapDiffTracker();
    expect(t.apply(body({ sel: RL, newEtag: "1" }, { sel: RULES, newEtag: "a" }), true)).toEqual({ auids: ["resource-lists", "org.openmobilealliance.pres-rules"], initial: true });
    expect(t.apply(body({ sel: RL, previousEtag: "1", newEtag: "2" }), false)).toEqual({ auids: ["resource-lists"], initial: false });
    // a refresh's full state in the same dialog: nothing changed
    expect(t.apply(body({ sel: RL, newEtag: "2" }, { sel: RULES, newEtag: "a" }), false).auids).toEqual([]);
    // a new dialog after a reconnect: the rules changed, the offline status appeared, nothing else
    expect(t.apply(body({ sel: RL, newEtag: "2" }, { sel: RULES, newEtag: "b" }, { sel: PM, newEtag: "x" }), true).auids.sort()).toEqual(["org.openmobilealliance.pres-rules", "pidf-manipulation"]);
    // deleted while away: the next full state lacks it
    expect(t.apply(body({ sel: RL, newEtag: "2" }, { sel: RULES, newEtag: "b" }), true).auids).toEqual(["pidf-manipulation"]);
  });

  it("seeded with the documents the page was rendered from: the first full state reports only what differs from them", () => {
    const t = new XcapDiffTracker({ [RL]: "1", [RULES]: "a" });
    // the rules changed between the render and the subscription, the offline status appeared; the list did not change
    expect(t.apply(body({ sel: RL, newEtag: "1" }, { sel: RULES, newEtag: "b" }, { sel: PM, newEtag: "x" }), true).auids.sort()).toEqual(["org.openmobilealliance.pres-rules", "pidf-manipulation"]);
    // a rendered document deleted meanwhile counts too
    const u = new XcapDiffTracker({ [RL]: "1", [RULES]: "a" });
    expect(u.apply(body({ sel: RL, newEtag: "1" }), true).auids).toEqual(["org.openmobilealliance.pres-rules"]);
  });
});
