/**
 * Debian's baresip against the embedded presence server (issue 12 item 5): it registers,
 * publishes, subscribes to a contact (`presence=p2p`), sees that contact go online and offline,
 * and un-registers and withdraws its publication when it quits. baresip 1.0 answers only the
 * digest challenges it knows and fails on the MD5 + SHA-256 pair, so this runs with the server's
 * default (MD5 alone).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pidf } from "../helpers/sip-client";
import { waitFor } from "../helpers/wait";
import { TOOLS, requireTool } from "../helpers/tools";
import { ALICE, BOB, aliceSubscribedToBob, cleanupAfterEach, basic, spawnPeer, startMessaging, type PeerProcess } from "./peer-process";
import { PASSWORD, XcapFixture, allowRules, client, startServer } from "../integration/server/harness";

const BARESIP = TOOLS.baresip.paths[0]!;
// baresip colours the status words; the log is compared without escape sequences
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*m/g;

const cleanup = cleanupAfterEach();

interface Baresip extends PeerProcess {
  /** Type a command on its stdin (with `commands`: the stdio and menu modules are loaded). */
  command(line: string): void;
}

/** baresip with alice's account (through the server as outbound proxy) and bob as a presence contact. */
async function startBaresip(serverPort: number, options: { commands?: boolean } = {}): Promise<Baresip> {
  const dir = mkdtempSync(path.join(tmpdir(), "herald-baresip-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    path.join(dir, "config"),
    [
      "poll_method\t\tepoll",
      // port 0: the system picks a free one when baresip binds (a port found free beforehand may
      // be taken by another test's connection before baresip gets to it)
      "sip_listen\t\t127.0.0.1:0",
      "module_path\t\t/usr/lib/baresip/modules",
      ...(options.commands ? ["module\t\t\tstdio.so", "module_app\t\tmenu.so"] : []),
      "module_app\t\taccount.so",
      "module_app\t\tcontact.so",
      "module_app\t\tpresence.so",
      "",
    ].join("\n"),
  );
  writeFileSync(path.join(dir, "accounts"), `<${ALICE};transport=tcp>;auth_pass=${PASSWORD};outbound="sip:127.0.0.1:${serverPort};transport=tcp";regint=600;pubint=600\n`);
  writeFileSync(path.join(dir, "contacts"), `"Bob" <${BOB}>;presence=p2p\n`);
  const peer = spawnPeer(BARESIP, ["-f", dir], { stdio: [options.commands ? "pipe" : "ignore", "pipe", "pipe"] }, cleanup);
  return { ...peer, output: () => peer.output().replace(ANSI_RE, ""), command: (line) => peer.child.stdin?.write(`${line}\n`) };
}



describe("baresip interop (Debian package baresip)", () => {
  it("registers, publishes, subscribes, sees its contact online and offline, and un-registers on quit", async () => {
    requireTool(TOOLS.baresip); // a missing peer fails the test, naming it (never a skip)
    const xcap = new XcapFixture();
    await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB]));
    await xcap.put(BOB, "org.openmobilealliance.pres-rules", allowRules(BOB, [ALICE]));
    const { server, port } = await startServer({}, xcap);
    cleanup.push(() => server.stop());
    const bob = await client(port, "bob");
    cleanup.push(() => bob.close());

    const baresip = await startBaresip(port);
    const W = { timeoutMs: 20_000 };
    const explain = () => `\n--- baresip ---\n${baresip.output()}`;
    // REGISTER (digest, MD5) → a binding; PUBLISH → alice's publication says open
    await waitFor(() => server.registrar.bindingsOf(ALICE).length === 1, { ...W, what: `baresip's registration${explain()}` });
    await waitFor(() => server.presence.publicationsOf(ALICE).some((p) => basic(p.xml).includes("open")), { ...W, what: `baresip's publication${explain()}` });
    // bob sees alice online through that publication
    const { sub } = await bob.subscribe(ALICE);
    expect(sub).toBeDefined();
    await bob.waitForNotify((n) => n.body.length > 0 && basic(n.bodyText).includes("open"), { sub, timeoutMs: 10_000 });
    // baresip's SUBSCRIBE to bob (its first NOTIFY: bob is offline)
    await waitFor(() => aliceSubscribedToBob(server), { ...W, what: `baresip's subscription to bob${explain()}` });
    // bob comes online: baresip reports it; bob goes offline: baresip reports that
    const published = await bob.publish(pidf(BOB, "open", "at my desk"));
    expect(published.status).toBe(200);
    await waitFor(() => /<sip:bob@example\.test> changed status from Offline to Online/.test(baresip.output()), { ...W, what: `baresip to see bob online${explain()}` });
    expect((await bob.publish(undefined, { etag: published.getHeader("SIP-ETag")!, expires: 0 })).status).toBe(200);
    await waitFor(() => /<sip:bob@example\.test> changed status from Online to Offline/.test(baresip.output()), { ...W, what: `baresip to see bob offline${explain()}` });

    // quit: un-REGISTER and PUBLISH Expires 0 (baresip 1.0 sends two initial PUBLISHes and
    // withdraws only the one whose ETag it kept; the other lives until its Expires)
    const publications = server.presence.publicationsOf(ALICE).length;
    baresip.child.kill("SIGTERM");
    await waitFor(() => server.registrar.bindingsOf(ALICE).length === 0, { ...W, what: `baresip's un-registration${explain()}` });
    await waitFor(() => server.presence.publicationsOf(ALICE).length === publications - 1, { ...W, what: `baresip's publication to be withdrawn${explain()}` });
    await Promise.race([baresip.exited, new Promise((r) => setTimeout(r, 5000))]);
  }, 60_000);
});

describe("baresip instant messages (issue 17)", () => {
  it("receives a stored message on registration and a live one, and `/message` sends one to a Herald user", async () => {
    const { server, port, store, bob } = await startMessaging(cleanup);
    // alice (baresip) is not running yet: stored, 202
    expect((await bob.message(ALICE, "left while you were away")).status).toBe(202);
    const baresip = await startBaresip(port, { commands: true });
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
    await waitFor(() => store.rows.some((r) => r.sender === ALICE && r.body === "hello from baresip"), { ...W, what: "baresip's message in the history" });
    baresip.child.kill("SIGTERM");
    await Promise.race([baresip.exited, new Promise((r) => setTimeout(r, 5000))]);
  }, 60_000);
});
