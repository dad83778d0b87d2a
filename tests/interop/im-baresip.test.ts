/**
 * Instant messages between Debian's baresip (1.0, `/message` of its menu module to the current
 * contact) and a Herald user through the embedded server (issue 17): both directions, and a
 * message stored while baresip was offline delivered when it registers.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { InstantMessaging, MemoryMessageStore } from "@/lib/server/message";
import { freePort } from "../helpers/ports";
import { waitFor } from "../helpers/wait";
import { ALICE, BOB, spawnPeer, type PeerProcess } from "./peer-process";
import { PASSWORD, XcapFixture, client, startServer } from "../integration/server/harness";

const BARESIP = "/usr/bin/baresip";
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*m/g;

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

interface Baresip extends PeerProcess {
  command(line: string): void;
}

/** baresip as alice (the server as outbound proxy), bob as its only contact, commands on stdin. */
async function startBaresip(serverPort: number): Promise<Baresip> {
  const dir = mkdtempSync(path.join(tmpdir(), "herald-baresip-im-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const listen = await freePort();
  writeFileSync(
    path.join(dir, "config"),
    ["poll_method\t\tepoll", `sip_listen\t\t127.0.0.1:${listen}`, "module_path\t\t/usr/lib/baresip/modules", "module\t\t\tstdio.so", "module_app\t\taccount.so", "module_app\t\tcontact.so", "module_app\t\tmenu.so", ""].join("\n"),
  );
  writeFileSync(path.join(dir, "accounts"), `<${ALICE};transport=tcp>;auth_pass=${PASSWORD};outbound="sip:127.0.0.1:${serverPort};transport=tcp";regint=600\n`);
  writeFileSync(path.join(dir, "contacts"), `"Bob" <${BOB}>\n`);
  const peer = spawnPeer(BARESIP, ["-f", dir], { stdio: ["pipe", "pipe", "pipe"] }, cleanup);
  return { ...peer, output: () => peer.output().replace(ANSI_RE, ""), command: (line) => peer.child.stdin!.write(`${line}\n`) };
}

describe("baresip instant messages (Debian package baresip)", () => {
  it("receives a stored message on registration and a live one, and sends one to a Herald user", async () => {
    expect(existsSync(BARESIP), `baresip is not installed at ${BARESIP} (Debian package baresip)`).toBe(true);
    const xcap = new XcapFixture();
    const { server, port } = await startServer({}, xcap);
    const store = new MemoryMessageStore();
    const im = new InstantMessaging({ server, store, xcap: { store: xcap.store } });
    cleanup.push(() => server.stop(), () => im.stop());
    const bob = await client(port, "bob");
    cleanup.push(() => bob.close());
    expect((await bob.register()).status).toBe(200);

    // alice (baresip) is not running yet: stored, 202
    expect((await bob.message(ALICE, "left while you were away")).status).toBe(202);
    const baresip = await startBaresip(port);
    const W = { timeoutMs: 20_000 };
    const explain = () => `\n--- baresip ---\n${baresip.output()}`;
    await waitFor(() => server.registrar.bindingsOf(ALICE).length === 1, { ...W, what: `baresip's registration${explain()}` });
    await waitFor(() => baresip.output().includes("left while you were away"), { ...W, what: `the stored message at baresip${explain()}` });
    await waitFor(async () => (await store.countPending(ALICE)) === 0, { ...W, what: "the queue to empty" });

    // Herald user → baresip, live
    expect((await bob.message(ALICE, "hello baresip")).status).toBe(200);
    await waitFor(() => baresip.output().includes("hello baresip"), { ...W, what: `the live message at baresip${explain()}` });

    // baresip → Herald user: select the contact, then /message
    baresip.command("/contact_next");
    baresip.command("/message hello from baresip");
    const m = await waitFor(() => bob.messages().find((r) => r.body.toString().includes("hello from baresip")), { ...W, what: `baresip's MESSAGE at bob${explain()}` });
    expect(m.from.uri.toString()).toBe(ALICE);
    expect(store.rows.map((r) => [r.sender, r.body])).toContainEqual([ALICE, "hello from baresip"]);
    baresip.child.kill("SIGTERM");
    await Promise.race([baresip.exited, new Promise((r) => setTimeout(r, 5000))]);
  }, 60_000);
});
