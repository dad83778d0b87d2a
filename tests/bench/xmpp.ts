/**
 * SIP–XMPP gateway benchmark (issue 18): stanzas translated per second and latency through the
 * gateway in both directions, against a real Prosody. Prints JSON lines; no assertions.
 *
 *   npm run bench -- xmpp [--users=50] [--seconds=6] [--interval=1500] [--xmpp-rate=200] [--component-stanzas=20000]
 *
 * - Herald runs in its own process as `herald start` runs its SIP side (startEmbeddedSipServer,
 *   SQLite, the gateway as an XEP-0114 component of a private Prosody; tests/bench/xmpp-herald-server.ts).
 * - The XMPP side is a second component of the same Prosody serving `peer.example` (its users
 *   `bob<i>@peer.example`), so every stanza crosses Prosody, and the load generator needs no c2s
 *   logins; it answers `subscribe` with `subscribed` and `probe` with presence, as a server would.
 * - SIP side: `alice<i>@example.test` over TCP with digest, one connection each.
 * - `xmpp.sipToXmpp`: each alice<i> modifies her publication every `--interval` ms (above the
 *   presence server's default 1 s NOTIFY interval per presentity, so each change leaves at once),
 *   the time from the PUBLISH to the presence stanza at bob<i>'s side (`publishRoundTripP50Ms`: the
 *   PUBLISH's own round trip, part of it).
 * - `xmpp.xmppToSip`: bob<i> sends presence changes at `--xmpp-rate` per second in total, the time
 *   to alice<i>'s NOTIFY carrying it.
 * - `xmpp.component`: @xmpp/component alone (the gateway's ComponentLink) receiving stanzas from a
 *   loopback XEP-0114 peer as fast as it can parse them: far above the gateway's rates means the
 *   library is not the bottleneck.
 */
import { createHash } from "node:crypto";
import net from "node:net";
import path from "node:path";
import type { SipRequest } from "../../lib/sip";
import { ComponentLink } from "../../lib/xmpp/component-link";
import { writePresence, type PresenceStanza } from "../../lib/xmpp/presence-stanza";
import { startChildServer } from "./child-server";
import { startProsody } from "../helpers/prosody";
import { SipTestClient } from "../helpers/sip-client";
import { waitFor } from "../helpers/wait";

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def);
const USERS = arg("users", 50);
const SECONDS = arg("seconds", 6);
const XMPP_RATE = arg("xmpp-rate", 200);
const COMPONENT_STANZAS = arg("component-stanzas", 20_000);
/** Between one user's PUBLISHes, ms: above the presence server's 1 s NOTIFY interval per presentity. */
const INTERVAL_MS = arg("interval", 1500);
const DOMAIN = "example.test";
const PEER = "peer.example";

function print(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + "\n");
}

function stats(latencies: number[]): { p50Ms: number; p99Ms: number; maxMs: number } {
  const s = [...latencies].sort((a, b) => a - b);
  const at = (p: number) => (s.length ? Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] * 100) / 100 : NaN);
  return { p50Ms: at(50), p99Ms: at(99), maxMs: at(100) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const prosody = await startProsody({ host: "xmpp.example", components: { [DOMAIN]: "gw-secret", [PEER]: "peer-secret" } });
  const herald = await startChildServer<{ port: number }>(path.join(import.meta.dirname, "xmpp-herald-server.ts"), [String(prosody.componentPort), "gw-secret", String(USERS), PEER], "herald (xmpp bench)");
  const peer = new ComponentLink({ url: `tcp://127.0.0.1:${prosody.componentPort}`, domain: PEER, secret: "peer-secret" });
  const clients: SipTestClient[] = [];
  try {
    // --- the XMPP side: answers like a server, records arrivals ---------------------------------
    const sentAt = new Map<string, number>();
    const sipToXmpp: number[] = [];
    /** When each PUBLISH was answered: arrival − answer is the gateway's and Prosody's part. */
    const answeredAt = new Map<string, number>();
    const afterAnswer: number[] = [];
    let presencesFromHerald = 0;
    peer.on("presence", (p: PresenceStanza) => {
      const bob = p.to.split("/")[0];
      if (p.type === "subscribe") peer.send(writePresence({ from: bob, to: p.from, type: "subscribed", statuses: [] }));
      else if (p.type === "probe") peer.send(writePresence({ from: `${bob}/bench`, to: p.from, statuses: [{ text: "initial" }] }));
      else if (p.type === undefined || p.type === "unavailable") {
        presencesFromHerald++;
        const mark = p.statuses[0]?.text;
        const t = mark ? sentAt.get(mark) : undefined;
        if (t !== undefined) {
          sipToXmpp.push(performance.now() - t);
          sentAt.delete(mark!);
          const a = answeredAt.get(mark!);
          if (a !== undefined) afterAnswer.push(performance.now() - a);
        }
      }
    });
    peer.start();
    await waitFor(() => peer.online, { timeoutMs: 10_000, what: "the peer component online" });

    // --- SIP side ---------------------------------------------------------------------------------
    const xmppSent = new Map<string, number>();
    const xmppToSip: number[] = [];
    /** The last NOTIFY carrying an XMPP change (the rate is counted up to it, not over the wait for stragglers). */
    let lastSipArrival = 0;
    for (let i = 0; i < USERS; i++) {
      const c = await SipTestClient.connect({
        host: "127.0.0.1",
        port: herald.ready.port,
        user: `alice${i}`,
        domain: DOMAIN,
        password: "Bench-password-1",
        preemptiveAuth: true,
        keepReceived: false,
        timeoutMs: 10_000,
        onRequest: (r: SipRequest) => {
          if (r.method !== "NOTIFY" || r.body.length === 0) return;
          const m = /x\d+-\d+/.exec(r.body.toString("utf8"));
          const t = m ? xmppSent.get(m[0]) : undefined;
          if (t !== undefined) {
            lastSipArrival = performance.now();
            xmppToSip.push(performance.now() - t);
            xmppSent.delete(m![0]);
          }
        },
      });
      clients.push(c);
    }
    // XMPP watchers of every alice (bob<i> → alice<i>: allowed by her rules, so subscribed at once)
    for (let i = 0; i < USERS; i++) peer.send(writePresence({ from: `bob${i}@${PEER}`, to: `alice${i}@${DOMAIN}`, type: "subscribe", statuses: [] }));
    await waitFor(async () => (await herald.call<{ watchers: number }>("stats")).watchers >= USERS, { timeoutMs: 30_000, what: "XMPP watchers subscribed" });
    // SIP watchers of every bob
    for (let i = 0; i < USERS; i++) {
      const r = await clients[i].subscribe(`sip:bob${i}@${PEER}`, { expires: 3600 });
      if (r.response.status !== 200) throw new Error(`SUBSCRIBE to bob${i}: ${r.response.status}`);
    }
    await sleep(500);

    // --- SIP → XMPP ------------------------------------------------------------------------------
    const before = await herald.call<{ toXmpp: number; toSip: number; cpuMs: number }>("stats");
    const t0 = performance.now();
    let published = 0;
    const publishRtt: number[] = [];
    let failed = 0;
    const runners = clients.map(async (c, i) => {
      await sleep((i * 1000) / USERS);
      let seq = 0;
      let etag: string | undefined;
      while (performance.now() - t0 < SECONDS * 1000) {
        const next = performance.now() + INTERVAL_MS;
        const mark = `m${i}-${seq++}`;
        const body = `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice${i}@${DOMAIN}"><tuple id="t"><status><basic>open</basic></status><note>${mark}</note></tuple></presence>`;
        const ts = performance.now();
        sentAt.set(mark, ts);
        // one publication per user, modified each time (RFC 3903 SIP-If-Match)
        const r = await c.publish(body, { expires: 600, etag }).catch(() => undefined);
        etag = r?.getHeader("SIP-ETag") ?? etag;
        publishRtt.push(performance.now() - ts);
        answeredAt.set(mark, performance.now());
        if (r?.status === 200) published++;
        else failed++;
        await sleep(Math.max(0, next - performance.now()));
      }
    });
    await Promise.all(runners);
    await waitFor(() => sentAt.size === 0, { timeoutMs: 5000 }).catch(() => undefined);
    const elapsed = (performance.now() - t0) / 1000;
    const mid = await herald.call<{ toXmpp: number; toSip: number; cpuMs: number }>("stats");
    print({
      bench: "xmpp.sipToXmpp",
      target: "herald (startEmbeddedSipServer, sqlite) + prosody 0.12",
      users: USERS,
      published,
      failed,
      delivered: sipToXmpp.length,
      coalescedOrLost: sentAt.size,
      stanzasPerSecond: Math.round((mid.toXmpp - before.toXmpp) / elapsed),
      ...stats(sipToXmpp),
      publishRoundTripP50Ms: stats(publishRtt).p50Ms,
      // NOTIFY and 200 leave together, so this is what the gateway and Prosody add (samples where the answer came first)
      afterPublishAnswerP50Ms: stats(afterAnswer).p50Ms,
      afterPublishAnswerP99Ms: stats(afterAnswer).p99Ms,
      heraldCpuMsPerStanza: Math.round(((mid.cpuMs - before.cpuMs) / Math.max(1, mid.toXmpp - before.toXmpp)) * 1000) / 1000,
    });
    sentAt.clear();

    // --- XMPP → SIP ------------------------------------------------------------------------------
    const t1 = performance.now();
    let sent = 0;
    const total = Math.round(XMPP_RATE * SECONDS);
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t1) / 1000) * XMPP_RATE));
      for (; sent < due; sent++) {
        const i = sent % USERS;
        const mark = `x${i}-${sent}`;
        xmppSent.set(mark, performance.now());
        peer.send(writePresence({ from: `bob${i}@${PEER}/bench`, to: `alice${i}@${DOMAIN}`, show: sent % 2 ? "away" : "dnd", statuses: [{ text: mark }] }));
      }
      await sleep(5);
    }
    await waitFor(() => xmppSent.size === 0, { timeoutMs: 5000 }).catch(() => undefined);
    const elapsed2 = (Math.max(lastSipArrival, t1 + 1) - t1) / 1000;
    const after = await herald.call<{ toXmpp: number; toSip: number; cpuMs: number }>("stats");
    print({
      bench: "xmpp.xmppToSip",
      target: "herald (startEmbeddedSipServer, sqlite) + prosody 0.12",
      users: USERS,
      offeredPerSecond: XMPP_RATE,
      sent,
      delivered: xmppToSip.length,
      coalesced: xmppSent.size,
      stanzasPerSecond: Math.round((after.toSip - mid.toSip) / elapsed2),
      ...stats(xmppToSip),
      heraldCpuMsPerStanza: Math.round(((after.cpuMs - mid.cpuMs) / Math.max(1, after.toSip - mid.toSip)) * 1000) / 1000,
    });
    print({ bench: "xmpp.peer", presencesFromHerald });
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await peer.stop();
    await herald.call("stop").catch(() => undefined);
    herald.child.kill();
    await prosody.stop();
  }
  print({ bench: "xmpp.component", ...(await componentOnly(COMPONENT_STANZAS)) });
}

/** ComponentLink (@xmpp/component) alone, receiving stanzas from a loopback XEP-0114 server. */
async function componentOnly(count: number): Promise<Record<string, unknown>> {
  const secret = "loopback-secret";
  const stanza = writePresence({ from: "bob@peer.example/r", to: "alice@example.test", show: "away", statuses: [{ text: "a status text of some length", lang: "en" }] });
  const server = net.createServer((sock) => {
    sock.setNoDelay(true);
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString();
      if (buf.includes("<stream:stream") && !buf.includes("sent-header")) {
        buf += "sent-header";
        sock.write(`<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='s1' from='example.test'>`);
      }
      const m = /<handshake>([0-9a-f]+)<\/handshake>/.exec(buf);
      if (m && !buf.includes("accepted")) {
        buf += "accepted";
        if (m[1] !== createHash("sha1").update("s1" + secret).digest("hex")) return sock.destroy();
        sock.write("<handshake/>");
        // blast in chunks so the socket's buffer stays bounded
        let n = 0;
        const pump = () => {
          while (n < count) {
            n++;
            if (!sock.write(stanza)) return void sock.once("drain", pump);
          }
        };
        setImmediate(pump);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const link = new ComponentLink({ url: `tcp://127.0.0.1:${port}`, domain: "example.test", secret });
  let received = 0;
  let first = 0;
  link.on("presence", () => {
    if (received++ === 0) first = performance.now();
  });
  link.start();
  await waitFor(() => received >= count, { timeoutMs: 60_000, intervalMs: 5 }).catch(() => undefined);
  const seconds = (performance.now() - first) / 1000;
  await link.stop();
  server.close();
  return { library: "@xmpp/component 0.13.1", stanzas: received, stanzasPerSecond: Math.round(received / seconds) };
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`xmpp bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
