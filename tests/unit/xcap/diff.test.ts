/** RFC 5874 documents as the xcap-diff package sends them, and the watch list a Blink SUBSCRIBE carries (RFC 5875 §4.3). */
import { describe, expect, it } from "vitest";
import { composeXcapDiff, documentSelector, parseWatchList, parseXcapDiff, watches } from "@/lib/xcap/diff";
import { XcapError } from "@/lib/xcap/errors";
import { expectValidXml } from "../presence/xsd";

const ROOT = "https://xcap.example.test/xcap-root";
const ALICE = "sip:alice@example.test";

const list = (...uris: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>${uris.map((u) => `<entry uri="${u}"/>`).join("")}</list></resource-lists>`;

describe("xcap-diff documents (RFC 5874)", () => {
  it("composes full state, changes, creations and deletions valid against the schema, and parses them back", async () => {
    const sel = documentSelector({ auid: "resource-lists", scope: "users", xui: ALICE, docPath: "index" });
    expect(sel).toBe(`resource-lists/users/${ALICE}/index`);
    const xml = composeXcapDiff(ROOT, [
      { sel, newEtag: "b", previousEtag: "a" },
      { sel: `pidf-manipulation/users/${ALICE}/index`, newEtag: "n" },
      { sel: `org.openmobilealliance.pres-rules/users/${ALICE}/index`, previousEtag: "gone" },
    ]);
    await expectValidXml(xml);
    const parsed = parseXcapDiff(xml);
    expect(parsed.xcapRoot).toBe(`${ROOT}/`);
    expect(parsed.documents).toEqual([
      { sel, auid: "resource-lists", newEtag: "b", previousEtag: "a" },
      { sel: `pidf-manipulation/users/${ALICE}/index`, auid: "pidf-manipulation", newEtag: "n", previousEtag: null },
      { sel: `org.openmobilealliance.pres-rules/users/${ALICE}/index`, auid: "org.openmobilealliance.pres-rules", newEtag: null, previousEtag: "gone" },
    ]);
    await expectValidXml(composeXcapDiff(ROOT, []));
  });
});

describe("the watch list of a SUBSCRIBE (RFC 5875 §4.3)", () => {
  it("reads relative and absolute XCAP URIs, percent-encoded XUIs and directories", () => {
    const w = parseWatchList(
      list(`resource-lists/users/${ALICE}/index`, `${ROOT}/pidf-manipulation/users/sip%3Aalice%40example.test/index`, `org.openmobilealliance.pres-content/users/${ALICE}/`, `rls-services/users/${ALICE}/dir/`),
      ROOT,
    );
    expect(w).toEqual([
      { auid: "resource-lists", xui: ALICE, path: "index" },
      { auid: "pidf-manipulation", xui: ALICE, path: "index" },
      { auid: "org.openmobilealliance.pres-content", xui: ALICE, path: "" },
      { auid: "rls-services", xui: ALICE, path: "dir/" },
    ]);
    expect(watches(w[2]!, { auid: "org.openmobilealliance.pres-content", xui: ALICE, docPath: "oma_status-icon/index" })).toBe(true);
    expect(watches(w[0]!, { auid: "resource-lists", xui: ALICE, docPath: "other" })).toBe(false);
    expect(watches(w[3]!, { auid: "rls-services", xui: ALICE, docPath: "index" })).toBe(false);
  });

  it("refuses what it cannot read, node selectors and other roots", () => {
    const fails = (body: string, status: number) => {
      try {
        parseWatchList(body, ROOT);
      } catch (e) {
        expect(e).toBeInstanceOf(XcapError);
        expect((e as XcapError).status).toBe(status);
        return;
      }
      throw new Error("accepted");
    };
    fails("<not-xml", 400);
    fails('<?xml version="1.0"?><x xmlns="urn:other"/>', 400);
    fails(list(`resource-lists/users/${ALICE}/index/~~/resource-lists/list`), 400);
    fails(list("https://elsewhere.example/xcap-root/resource-lists/users/sip:alice@example.test/index"), 403);
  });
});
