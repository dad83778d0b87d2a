/**
 * Debian's linphonec (package linphone-cli, liblinphone 5.1) against the embedded presence server
 * (issue 12 item 5): it registers (digest), publishes its presence (`publish=1`), subscribes to a
 * friend added with `friend add`, sees that friend go online, busy (an RPID activity) and offline,
 * and on `quit` un-registers, withdraws its publication and ends its subscription.
 *
 * linphonec 5.1 has no command that changes its own presence (the old `online`/`busy`/`away`
 * commands are gone; liblinphone sets it only through its API), so what a watcher sees change is
 * online → offline when linphonec quits. It sends PUBLISH and SUBSCRIBE to the AOR's domain unless
 * a route is configured, so the account has `reg_route` pointing at the server (the outbound proxy).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pidf } from "../helpers/sip-client";
import { parsePidf } from "@/lib/presence";
import { waitFor } from "../helpers/wait";
import { TOOLS, requireTool } from "../helpers/tools";
import { ALICE, BOB, aliceSubscribedToBob, cleanupAfterEach, basic, spawnPeer, startMessaging, type PeerProcess } from "./peer-process";
import { DOMAIN, PASSWORD, XcapFixture, allowRules, client, startServer } from "../integration/server/harness";

const LINPHONEC = TOOLS.linphonec.paths[0]!;
const BOB_BUSY = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${BOB}"><tuple id="t1"><status><basic>open</basic></status></tuple><dm:person id="p1"><rpid:activities><rpid:busy/></rpid:activities></dm:person></presence>`;

const cleanup = cleanupAfterEach();

interface Linphonec extends PeerProcess {
  /** Type a command line on linphonec's stdin. */
  command(line: string): void;
}

/**
 * linphonec with alice's account (the server as registrar and route) in a fresh HOME, so its
 * database, history and ZRTP cache stay inside the test's directory; driven through stdin.
 */
function startLinphonec(serverPort: number): Linphonec {
  const dir = mkdtempSync(path.join(tmpdir(), "herald-linphonec-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, ".local", "share", "linphone"), { recursive: true });
  const server = `sip:127.0.0.1:${serverPort};transport=tcp`;
  const rc = path.join(dir, "linphonerc");
  writeFileSync(
    rc,
    [
      "[sip]",
      // no UDP listener; TCP on a port of the system's choosing (the server answers over linphonec's connection)
      "sip_udp_port=0",
      "sip_tcp_port=-1",
      "default_proxy=0",
      "[proxy_0]",
      `reg_proxy=<${server}>`,
      `reg_route=<${server};lr>`,
      `reg_identity="Alice" <${ALICE}>`,
      "reg_expires=600",
      "reg_sendregister=1",
      "publish=1",
      "[auth_info_0]",
      "username=alice",
      `passwd=${PASSWORD}`,
      `domain=${DOMAIN}`,
      "",
    ].join("\n"),
  );
  const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: path.join(dir, ".config"), XDG_DATA_HOME: path.join(dir, ".local", "share") };
  const peer = spawnPeer(LINPHONEC, ["-c", rc], { env, stdio: ["pipe", "pipe", "pipe"] }, cleanup);
  return { ...peer, command: (line) => peer.child.stdin!.write(`${line}\n`) };
}



/** The `Friend … is <status>` lines linphonec prints for bob, in order. */
function bobStatuses(output: string): string[] {
  return [...output.matchAll(/Friend "bob" <sip:bob@example\.test> is ([^\r\n]+)/g)].map((m) => m[1].trim());
}

describe("linphonec interop (Debian package linphone-cli)", () => {
  it("registers, publishes, subscribes to a friend, sees it online, busy and offline, and un-registers on quit", async () => {
    requireTool(TOOLS.linphonec); // a missing peer is a failure, not a skip: the acceptance needs this run
    const xcap = new XcapFixture();
    await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB]));
    await xcap.put(BOB, "org.openmobilealliance.pres-rules", allowRules(BOB, [ALICE]));
    const { server, port } = await startServer({}, xcap);
    cleanup.push(() => server.stop());
    const bob = await client(port, "bob");
    cleanup.push(() => bob.close());

    const linphonec = startLinphonec(port);
    const W = { timeoutMs: 20_000 };
    const explain = () => `\n--- linphonec ---\n${linphonec.output()}`;
    // REGISTER (digest, MD5) → a binding; PUBLISH → alice's publication says open
    await waitFor(() => server.registrar.bindingsOf(ALICE).length === 1, { ...W, what: `linphonec's registration${explain()}` });
    const publication = await waitFor(() => server.presence.publicationsOf(ALICE).find((p) => basic(p.xml).includes("open")), { ...W, what: `linphonec's publication${explain()}` });
    const publishedTuple = parsePidf(publication.xml).tuples[0].id;

    // bob sees alice online through that publication (its tuple, not only the registration's)
    const { sub } = await bob.subscribe(ALICE);
    expect(sub).toBeDefined();
    await bob.waitForNotify((n) => n.body.length > 0 && parsePidf(n.bodyText).tuples.some((t) => t.id === publishedTuple && t.basic === "open"), { sub, timeoutMs: 10_000 });

    // `friend add` subscribes to bob; the first NOTIFY says bob is offline
    linphonec.command(`friend add bob ${BOB}`);
    await waitFor(() => aliceSubscribedToBob(server), { ...W, what: `linphonec's subscription to bob${explain()}` });
    await waitFor(() => bobStatuses(linphonec.output()).includes("Offline"), { ...W, what: `linphonec to report bob offline${explain()}` });
    linphonec.command("friend list");
    await waitFor(() => /name: bob\s+address: sip:bob@example\.test/.test(linphonec.output()), { ...W, what: `bob in linphonec's friend list${explain()}` });

    // bob comes online: linphonec reports it; bob goes offline: linphonec reports that
    const seen = bobStatuses(linphonec.output()).length;
    const published = await bob.publish(pidf(BOB, "open", "at my desk"));
    expect(published.status).toBe(200);
    await waitFor(() => bobStatuses(linphonec.output()).slice(seen).includes("Online"), { ...W, what: `linphonec to see bob online${explain()}` });
    // bob busy (RFC 4480 activity in a person element, passed through to the watcher): linphonec says Busy
    const online = bobStatuses(linphonec.output()).lastIndexOf("Online");
    const busy = await bob.publish(BOB_BUSY, { etag: published.getHeader("SIP-ETag")! });
    expect(busy.status).toBe(200);
    await waitFor(() => bobStatuses(linphonec.output()).slice(online + 1).includes("Busy"), { ...W, what: `linphonec to see bob busy${explain()}` });
    const busyAt = bobStatuses(linphonec.output()).lastIndexOf("Busy");
    expect((await bob.publish(undefined, { etag: busy.getHeader("SIP-ETag")!, expires: 0 })).status).toBe(200);
    await waitFor(() => bobStatuses(linphonec.output()).slice(busyAt + 1).includes("Offline"), { ...W, what: `linphonec to see bob offline${explain()}` });

    // quit: un-REGISTER, PUBLISH Expires 0, SUBSCRIBE Expires 0; bob sees alice offline
    const notified = bob.notifies(sub).length;
    linphonec.command("quit");
    await waitFor(() => server.registrar.bindingsOf(ALICE).length === 0, { ...W, what: `linphonec's un-registration${explain()}` });
    await waitFor(() => server.presence.publicationsOf(ALICE).length === 0, { ...W, what: `linphonec's publication to be withdrawn${explain()}` });
    await waitFor(() => !aliceSubscribedToBob(server), { ...W, what: `linphonec's subscription to bob to end${explain()}` });
    await bob.waitForNotify((n) => n.body.length > 0 && !basic(n.bodyText).includes("open"), { sub, from: notified, timeoutMs: 10_000 });
    expect(await Promise.race([linphonec.exited, new Promise((r) => setTimeout(() => r("still running"), 10_000))])).toBe(0);
  }, 60_000);

  // RFC 8760: liblinphone answers a SHA-256 challenge, alone or offered before MD5
  it.each([[["SHA-256"]], [["SHA-256", "MD5"]]] as const)("registers and publishes when the server offers %j", async (digestAlgorithms) => {
    requireTool(TOOLS.linphonec);
    const { server, port } = await startServer({ digestAlgorithms: [...digestAlgorithms] });
    cleanup.push(() => server.stop());
    const linphonec = startLinphonec(port);
    const W = { timeoutMs: 20_000 };
    const explain = () => `\n--- linphonec ---\n${linphonec.output()}`;
    await waitFor(() => server.registrar.bindingsOf(ALICE).length === 1, { ...W, what: `linphonec's registration${explain()}` });
    await waitFor(() => server.presence.publicationsOf(ALICE).some((p) => basic(p.xml).includes("open")), { ...W, what: `linphonec's publication${explain()}` });
    linphonec.command("quit");
    await waitFor(() => server.registrar.bindingsOf(ALICE).length === 0, { ...W, what: `linphonec's un-registration${explain()}` });
  }, 60_000);
});

describe("linphonec instant messages (issue 17)", () => {
  it("receives a stored and a live message from a Herald user, and `chat` sends one back", async () => {
    const { server, port, bob } = await startMessaging(cleanup);
    expect((await bob.message(ALICE, "left while you were away")).status).toBe(202);

    const linphonec = startLinphonec(port);
    const W = { timeoutMs: 20_000 };
    const explain = () => `\n--- linphonec ---\n${linphonec.output()}`;
    await waitFor(() => server.registrar.bindingsOf(ALICE).length === 1, { ...W, what: `linphonec's registration${explain()}` });
    await waitFor(() => linphonec.output().includes("left while you were away"), { ...W, what: `the stored message at linphonec${explain()}` });
    expect((await bob.message(ALICE, "hello linphone")).status).toBe(200);
    await waitFor(() => linphonec.output().includes("hello linphone"), { ...W, what: `the live message at linphonec${explain()}` });

    linphonec.command(`chat ${BOB} hello from linphonec`);
    const m = await waitFor(() => bob.messages().find((r) => r.body.toString().includes("hello from linphonec")), { ...W, what: `linphonec's MESSAGE at bob${explain()}` });
    expect(m.from.uri.toString()).toBe(ALICE);
    linphonec.command("quit");
    await waitFor(() => server.registrar.bindingsOf(ALICE).length === 0, { ...W, what: `linphonec's un-registration${explain()}` });
  }, 60_000);
});
