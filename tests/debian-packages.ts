/**
 * The Debian packages the test suites need, installed by `npm test` itself (tests/run.ts) when any
 * is missing, so the README's `npm install && npm test` does all the set-up on a fresh machine.
 * With everything installed it runs nothing (and needs no root); otherwise it runs
 * `apt-get update` once and `apt-get install` for the missing ones — as root, or through
 * `sudo -n` — and names the missing packages when it cannot.
 */
import { spawnSync } from "node:child_process";

/** One package a line: what the tests drive (browser, database, SIP peers, the reference server). */
export const DEBIAN_PACKAGES = [
  "chromium",
  "postgresql",
  "sip-tester",
  "baresip",
  "linphone-cli",
  "kamailio",
  "kamailio-presence-modules",
  "kamailio-postgres-modules",
  "kamailio-xml-modules",
  "kamailio-autheph-modules",
  "openssl",
  "python3",
  "prosody",
  "python3-slixmpp",
];

export interface InstallerSystem {
  /** dpkg knows the package as installed */
  installed(pkg: string): boolean;
  /** run a command with its output shown; true when it exited 0 */
  run(cmd: string, args: string[]): boolean;
  isRoot: boolean;
  /** `sudo -n` works (passwordless) */
  canSudo(): boolean;
  /** dpkg exists (a Debian-like system) */
  hasDpkg: boolean;
}

export interface InstallOutcome {
  ok: boolean;
  /** packages that were missing */
  missing: string[];
  message: string;
}

export function realSystem(): InstallerSystem {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  return {
    installed: (p) => /^Status: .* installed$/m.test(spawnSync("dpkg", ["-s", p], { encoding: "utf8" }).stdout ?? ""),
    run: (cmd, args) => spawnSync(cmd, args, { stdio: "inherit", env }).status === 0,
    isRoot: process.getuid?.() === 0,
    canSudo: () => spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0,
    hasDpkg: spawnSync("dpkg", ["--version"], { stdio: "ignore" }).status === 0,
  };
}

export function ensureDebianPackages(sys: InstallerSystem = realSystem(), packages: readonly string[] = DEBIAN_PACKAGES): InstallOutcome {
  if (!sys.hasDpkg) return { ok: true, missing: [], message: "not a Debian system (no dpkg): the tests name any tool they miss" };
  const missing = packages.filter((p) => !sys.installed(p));
  if (missing.length === 0) return { ok: true, missing, message: "all Debian packages the tests need are installed" };
  const how = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  const prefix = sys.isRoot ? [] : sys.canSudo() ? ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive"] : undefined;
  if (!prefix) return { ok: false, missing, message: `missing Debian packages: ${missing.join(" ")} — run as root: ${how}` };
  const apt = (args: string[]) => (prefix.length ? sys.run(prefix[0]!, [...prefix.slice(1), "apt-get", ...args]) : sys.run("apt-get", args));
  if (!apt(["update", "-qq"]) || !apt(["install", "-y", "-qq", "--no-install-recommends", ...missing])) {
    return { ok: false, missing, message: `installing ${missing.join(" ")} failed — run as root: ${how}` };
  }
  const still = missing.filter((p) => !sys.installed(p));
  if (still.length) return { ok: false, missing, message: `still missing after apt-get install: ${still.join(" ")}` };
  return { ok: true, missing, message: `installed ${missing.join(" ")}` };
}
