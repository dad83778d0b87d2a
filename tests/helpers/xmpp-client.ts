/**
 * A real XMPP client for the gateway tests: Debian's python3-slixmpp driven over stdin/stdout
 * (tests/helpers/xmpp-client.py). Missing slixmpp fails naming the package.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import { waitFor } from "./wait";

const PYTHON = "/usr/bin/python3";
const SCRIPT = path.join(import.meta.dirname, "xmpp-client.py");

export interface XmppPresenceEvent {
  event: "presence";
  from: string;
  to: string;
  type: string;
  show: string | null;
  statuses: Array<{ text: string; lang: string | null }>;
  /** Received at (ms since the epoch). */
  t: number;
}

type ClientEvent = XmppPresenceEvent | { event: "online" | "disconnected" | "done" | "error"; t: number; [k: string]: unknown };

export function requireSlixmpp(): void {
  const r = spawnSync(PYTHON, ["-c", "import slixmpp"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error("python3-slixmpp is not installed: apt-get install python3-slixmpp (the XMPP gateway tests use it as the XMPP client)");
}

export class XmppTestClient {
  readonly events: ClientEvent[] = [];
  private readonly child: ChildProcess;
  private buffer = "";
  private stderr = "";

  private constructor(readonly jid: string, password: string, port: number) {
    this.child = spawn(PYTHON, [SCRIPT, jid, password, "127.0.0.1", String(port)], { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout!.on("data", (d: Buffer) => {
      this.buffer += d.toString("utf8");
      let nl: number;
      while ((nl = this.buffer.indexOf("\n")) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        try {
          this.events.push(JSON.parse(line) as ClientEvent);
        } catch {
          this.stderr += line + "\n";
        }
      }
    });
    this.child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString("utf8")));
  }

  /** Connect and wait until the session is up (roster fetched). */
  static async connect(jid: string, password: string, port: number): Promise<XmppTestClient> {
    requireSlixmpp();
    const c = new XmppTestClient(jid, password, port);
    await c.waitEvent((e) => e.event === "online", { what: `${jid} online` });
    return c;
  }

  get output(): string {
    return this.stderr;
  }

  command(c: Record<string, unknown>): void {
    this.child.stdin!.write(JSON.stringify(c) + "\n");
  }

  presence(show?: string, status?: string, lang?: string, priority?: number): void {
    this.command({ cmd: "presence", show, status, lang, priority });
  }

  send(type: string, to: string): void {
    this.command({ cmd: "send", type, to });
  }

  /** Events after index `from` (default all) matching `pred`. */
  presences(pred: (e: XmppPresenceEvent) => boolean = () => true, from = 0): XmppPresenceEvent[] {
    return this.events.slice(from).filter((e): e is XmppPresenceEvent => e.event === "presence" && pred(e));
  }

  async waitEvent(pred: (e: ClientEvent) => boolean, opts: { from?: number; timeoutMs?: number; what?: string } = {}): Promise<ClientEvent> {
    return waitFor(
      () => {
        if (this.child.exitCode !== null) throw new Error(`xmpp client exited: ${this.stderr}`);
        return this.events.slice(opts.from ?? 0).find(pred);
      },
      { timeoutMs: opts.timeoutMs ?? 10_000, intervalMs: 5, what: `${opts.what ?? "xmpp event"} (stderr: ${this.stderr.slice(-500)})` },
    );
  }

  waitPresence(pred: (e: XmppPresenceEvent) => boolean, opts: { from?: number; timeoutMs?: number; what?: string } = {}): Promise<XmppPresenceEvent> {
    return this.waitEvent((e) => e.event === "presence" && pred(e as XmppPresenceEvent), opts) as Promise<XmppPresenceEvent>;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once("exit", () => r()));
    this.child.stdin!.end();
    const t = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(t);
  }
}
