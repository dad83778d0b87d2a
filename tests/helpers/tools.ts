/**
 * External programs the test suites drive, each with the Debian package it comes from (the
 * packages .ci/install-test-deps installs). A missing program fails the test naming the program
 * and its package — never a skip (README: a missing tool is named in the failure).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export interface Tool {
  name: string;
  /** Debian package(s) to install */
  pkg: string;
  /** where it is installed: the first path that exists wins */
  paths: string[];
}

export const TOOLS = {
  sipp: { name: "SIPp", pkg: "sip-tester", paths: ["/usr/bin/sipp"] },
  baresip: { name: "baresip", pkg: "baresip", paths: ["/usr/bin/baresip"] },
  linphonec: { name: "linphonec", pkg: "linphone-cli", paths: ["/usr/bin/linphonec"] },
  kamailio: {
    name: "Kamailio",
    pkg: "kamailio kamailio-presence-modules kamailio-postgres-modules kamailio-xml-modules",
    paths: ["/usr/sbin/kamailio", "/usr/bin/kamailio", "/usr/local/sbin/kamailio"],
  },
  python3: { name: "python3", pkg: "python3", paths: ["/usr/bin/python3", "/usr/local/bin/python3"] },
} satisfies Record<string, Tool>;

/** Why `tool` cannot run here, or undefined when it is installed. */
export function missingTool(tool: Tool): string | undefined {
  if (tool.paths.some((p) => existsSync(p))) return undefined;
  return `${tool.name} is not installed (looked for ${tool.paths.join(", ")}): apt-get install ${tool.pkg}`;
}

/** The path of an installed tool; throws an error naming the tool and its Debian package otherwise. */
export function requireTool(tool: Tool): string {
  const why = missingTool(tool);
  if (why) throw new Error(why);
  return tool.paths.find((p) => existsSync(p))!;
}

/** python3 with its standard `email` package (the independent MIME parser some tests compare with). */
export function requirePythonEmail(): string {
  const bin = requireTool(TOOLS.python3);
  if (spawnSync(bin, ["-c", "import email"]).status !== 0) throw new Error("python3 cannot import its standard `email` package: apt-get install python3");
  return bin;
}
