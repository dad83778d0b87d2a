/** `npm test` installs the Debian packages the tests need, and only when some are missing. */
import { describe, expect, it } from "vitest";
import { DEBIAN_PACKAGES, ensureDebianPackages, type InstallerSystem } from "../debian-packages";

function system(o: { installed: string[]; isRoot?: boolean; sudo?: boolean; aptWorks?: boolean; dpkg?: boolean }) {
  const have = new Set(o.installed);
  const ran: string[] = [];
  const sys: InstallerSystem = {
    installed: (p) => have.has(p),
    run: (cmd, args) => {
      ran.push([cmd, ...args].join(" "));
      const i = args.indexOf("install");
      if (i >= 0 && o.aptWorks !== false) for (const p of args.slice(i + 1).filter((a) => !a.startsWith("-"))) have.add(p);
      return o.aptWorks !== false;
    },
    isRoot: o.isRoot ?? false,
    canSudo: () => o.sudo ?? false,
    hasDpkg: o.dpkg ?? true,
  };
  return { sys, ran };
}

describe("ensureDebianPackages", () => {
  it("does nothing, and needs no root, when every package is installed", () => {
    const { sys, ran } = system({ installed: [...DEBIAN_PACKAGES], isRoot: false, sudo: false });
    expect(ensureDebianPackages(sys)).toEqual({ ok: true, missing: [], message: "all Debian packages the tests need are installed" });
    expect(ran).toEqual([]);
  });
  it("as root: apt-get update once, then installs exactly the missing packages", () => {
    const { sys, ran } = system({ installed: DEBIAN_PACKAGES.filter((p) => p !== "sip-tester" && p !== "baresip"), isRoot: true });
    expect(ensureDebianPackages(sys)).toMatchObject({ ok: true, missing: ["sip-tester", "baresip"], message: "installed sip-tester baresip" });
    expect(ran).toEqual(["apt-get update -qq", "apt-get install -y -qq --no-install-recommends sip-tester baresip"]);
  });
  it("without root uses passwordless sudo when there is one", () => {
    const { sys, ran } = system({ installed: DEBIAN_PACKAGES.filter((p) => p !== "kamailio"), sudo: true });
    expect(ensureDebianPackages(sys).ok).toBe(true);
    expect(ran).toEqual([
      "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq",
      "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kamailio",
    ]);
  });
  it("without root or sudo fails naming the missing packages and the command", () => {
    const { sys, ran } = system({ installed: DEBIAN_PACKAGES.filter((p) => p !== "linphone-cli") });
    expect(ensureDebianPackages(sys)).toEqual({
      ok: false,
      missing: ["linphone-cli"],
      message: "missing Debian packages: linphone-cli — run as root: apt-get update && apt-get install -y --no-install-recommends linphone-cli",
    });
    expect(ran).toEqual([]);
  });
  it("a failed apt-get is a failure that names the packages", () => {
    const { sys } = system({ installed: [], isRoot: true, aptWorks: false });
    const r = ensureDebianPackages(sys, ["chromium"]);
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/^installing chromium failed/);
  });
});
