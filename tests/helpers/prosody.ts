/**
 * A private Prosody (Debian's `prosody` package) for the XMPP gateway tests: its own configuration,
 * data directory and loopback ports (c2s and XEP-0114 component), run as the `prosody` user
 * (Prosody refuses to run as root), Nagle off (`network_settings`), stopped afterwards. Users are
 * written straight into its data directory (internal_plain storage), so no prosodyctl run is needed.
 * A missing prosody fails naming the package.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./ports";
import { waitFor } from "./wait";

export const PROSODY_BIN = "/usr/bin/prosody";

export interface ProsodyOptions {
  /** XMPP host served (user JIDs live here). */
  host: string;
  /** Component domains and their secrets (XEP-0114). */
  components: Record<string, string>;
  users?: Array<{ user: string; password: string }>;
}

export interface RunningProsody {
  c2sPort: number;
  componentPort: number;
  dir: string;
  log(): string;
  /** Stop (SIGTERM, then SIGKILL) and start again on the same ports and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Throws naming the Debian package when prosody is not installed. */
export function requireProsody(): void {
  if (!existsSync(PROSODY_BIN)) throw new Error("prosody is not installed: apt-get install prosody (the XMPP gateway tests run against a real Prosody)");
}

function uid(name: string): { uid: number; gid: number } {
  const r = spawnSync("id", ["-u", name], { encoding: "utf8" });
  const g = spawnSync("id", ["-g", name], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`user ${name} does not exist (Debian's prosody package creates it)`);
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function luaString(s: string): string {
  return JSON.stringify(s);
}

/** Prosody's on-disk encoding of a host or node name (`.` → `%2e`, as util.datamanager does). */
function encodeName(s: string): string {
  return s.replace(/[^a-zA-Z0-9]/g, (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"));
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

export async function startProsody(o: ProsodyOptions): Promise<RunningProsody> {
  requireProsody();
  const owner = process.getuid?.() === 0 ? uid("prosody") : undefined;
  const dir = mkdtempSync(path.join(tmpdir(), "herald-prosody-"));
  chmodSync(dir, 0o755);
  const data = path.join(dir, "data");
  mkdirSync(data);
  const [c2sPort, componentPort] = [await freePort(), await freePort()];
  const config = path.join(dir, "prosody.cfg.lua");
  writeFileSync(
    config,
    [
      `pidfile = ${luaString(path.join(dir, "prosody.pid"))}`,
      `data_path = ${luaString(data)}`,
      `log = { { levels = { min = "info" }, to = "file", filename = ${luaString(path.join(dir, "prosody.log"))} } }`,
      `modules_enabled = { "roster"; "saslauth"; "disco"; "ping" }`,
      `modules_disabled = { "s2s"; "offline"; "http"; "bosh"; "websocket" }`,
      `authentication = "internal_plain"`,
      `storage = "internal"`,
      `c2s_require_encryption = false`,
      `allow_unencrypted_plain_auth = true`,
      `c2s_interfaces = { "127.0.0.1" }`,
      `c2s_ports = { ${c2sPort} }`,
      `component_interfaces = { "127.0.0.1" }`,
      `component_ports = { ${componentPort} }`,
      `network_settings = { nagle = false }`,
      `VirtualHost ${luaString(o.host)}`,
      ...Object.entries(o.components).flatMap(([d, secret]) => [`Component ${luaString(d)}`, `  component_secret = ${luaString(secret)}`]),
      "",
    ].join("\n"),
  );
  if (o.users?.length) {
    const accounts = path.join(data, encodeName(o.host), "accounts");
    mkdirSync(accounts, { recursive: true });
    for (const u of o.users) writeFileSync(path.join(accounts, `${encodeName(u.user)}.dat`), `return {\n\t["password"] = ${luaString(u.password)};\n};\n`);
  }
  if (owner) {
    const chownAll = (p: string) => {
      chownSync(p, owner.uid, owner.gid);
      const st = spawnSync("find", [p, "-mindepth", "1"], { encoding: "utf8" });
      for (const f of st.stdout.split("\n").filter(Boolean)) chownSync(f, owner.uid, owner.gid);
    };
    chownAll(dir);
  }
  let child: ChildProcess | undefined;
  const launch = async () => {
    const cmd = owner ? "runuser" : PROSODY_BIN;
    const args = owner ? ["-u", "prosody", "--", PROSODY_BIN, "-F", "--config", config] : ["-F", "--config", config];
    const c = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    let out = "";
    c.stdout?.on("data", (d) => (out += String(d)));
    c.stderr?.on("data", (d) => (out += String(d)));
    await waitFor(async () => {
      if (c.exitCode !== null) throw new Error(`prosody exited (${c.exitCode}): ${out}${readLog()}`);
      return (await portOpen(c2sPort)) && (await portOpen(componentPort));
    }, { timeoutMs: 10_000, what: "prosody to listen" });
  };
  const readLog = () => {
    try {
      return readFileSync(path.join(dir, "prosody.log"), "utf8");
    } catch {
      return "";
    }
  };
  const halt = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once("exit", () => r()));
    c.kill("SIGTERM");
    const t = setTimeout(() => c.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
    // runuser forwards the signal; wait until prosody itself has let go of its ports
    await waitFor(async () => !(await portOpen(c2sPort)) && !(await portOpen(componentPort)), { timeoutMs: 10_000, what: "prosody to stop" });
  };
  await launch();
  return {
    c2sPort,
    componentPort,
    dir,
    log: readLog,
    restart: async () => {
      await halt();
      await launch();
    },
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
