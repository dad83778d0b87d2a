/** The helper every suite uses for external programs: a missing one is named with its Debian package, never skipped. */
import { describe, expect, it } from "vitest";
import { TOOLS, missingTool, requireTool, type Tool } from "../helpers/tools";

describe("requireTool", () => {
  const absent: Tool = { name: "FakeSIP", pkg: "fake-sip-tools", paths: ["/nonexistent/herald/fakesip"] };
  it("fails naming the missing tool, where it looked and the package to install", () => {
    expect(missingTool(absent)).toBe("FakeSIP is not installed (looked for /nonexistent/herald/fakesip): apt-get install fake-sip-tools");
    expect(() => requireTool(absent)).toThrow("FakeSIP is not installed (looked for /nonexistent/herald/fakesip): apt-get install fake-sip-tools");
  });
  it("returns the first path that exists", () => {
    const present: Tool = { name: "node", pkg: "nodejs", paths: ["/nonexistent/node", process.execPath] };
    expect(missingTool(present)).toBeUndefined();
    expect(requireTool(present)).toBe(process.execPath);
  });
  it("knows the Debian package of every tool the suites drive", () => {
    expect(Object.fromEntries(Object.entries(TOOLS).map(([k, t]) => [k, t.pkg.split(" ")[0]]))).toEqual({
      sipp: "sip-tester",
      baresip: "baresip",
      linphonec: "linphone-cli",
      kamailio: "kamailio",
      python3: "python3",
    });
  });
});
