/** What the interop tests share about a SIP peer program (baresip, linphonec) run as alice. */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { afterEach } from "vitest";
import { parsePidf } from "@/lib/presence";
import type { PresenceServer } from "@/lib/server";
import { InstantMessaging, MemoryMessageStore } from "@/lib/server/message";
import type { SipTestClient } from "../helpers/sip-client";
import { DOMAIN, XcapFixture, client, startServer } from "../integration/server/harness";

export const ALICE = `sip:alice@${DOMAIN}`;
export const BOB = `sip:bob@${DOMAIN}`;

/** What a test started, undone in reverse order after it. */
export type Cleanup = Array<() => Promise<unknown> | unknown>;

/** A cleanup list drained (last first) after each test of the file that calls this. */
export function cleanupAfterEach(): Cleanup {
  const cleanup: Cleanup = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  return cleanup;
}

export interface PeerProcess {
  child: ChildProcess;
  /** Everything it printed (stdout and stderr, the last 200 kB). */
  output(): string;
  exited: Promise<number | null>;
}

/** Start `command`; `cleanup` gets a step that kills it if it still runs. */
export function spawnPeer(command: string, args: string[], options: SpawnOptions, cleanup: Cleanup): PeerProcess {
  const child = spawn(command, args, options);
  let out = "";
  const collect = (d: Buffer) => (out = (out + d.toString()).slice(-200_000));
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  return { child, output: () => out, exited };
}

/** The basic status of each tuple of a PIDF document. */
export function basic(xml: string): string[] {
  return parsePidf(xml).tuples.map((t) => t.basic ?? "");
}

/** alice (the peer program) holds an active SIP subscription to bob. */
export function aliceSubscribedToBob(server: PresenceServer): boolean {
  return [...server.notifier.all()].some((s) => s.watcher === ALICE && s.resource === BOB && s.status === "active" && s.dialog !== undefined);
}

/** The embedded server with MESSAGE (issue 17) and bob registered as a Herald user. */
export async function startMessaging(cleanup: Cleanup): Promise<{ server: PresenceServer; port: number; store: MemoryMessageStore; bob: SipTestClient }> {
  const xcap = new XcapFixture();
  const { server, port } = await startServer({}, xcap);
  const store = new MemoryMessageStore();
  const im = new InstantMessaging({ server, store, xcap: { store: xcap.store } });
  cleanup.push(() => server.stop(), () => im.stop());
  const bob = await client(port, "bob");
  cleanup.push(() => bob.close());
  const r = await bob.register();
  if (r.status !== 200) throw new Error(`bob could not register: ${r.status}`);
  return { server, port, store, bob };
}
