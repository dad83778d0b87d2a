/**
 * Bridge overhead benchmark (issue 6, benchmark a). Prints JSON lines; no assertions.
 *
 *   npx tsx tests/bench/bridge.ts [--rtts 5000] [--seconds 3] [--idle 5000] [--no-tcp-upstream] [--cpu-prof DIR]
 *
 * `--cpu-prof DIR` writes a V8 CPU profile of each child process (server+bridge, TCP bridge) to DIR.
 *
 * What is measured is the deployed default (`npm start` without SIP_UPSTREAM): a child process
 * runs Herald's embedded presence server (PresenceServer; accounts and XCAP in memory instead of
 * the database) with the SIP bridge attached in the same process, each WebSocket on its own
 * in-process flow to the server (`transport.openFlow()`). This process is the client, timing the
 * same real SIP requests over a direct TCP connection to that server and through the bridge over
 * a WebSocket:
 *  - latency (`bridge.latency`): sequential request → response round trips, direct and bridged in
 *    alternating blocks so drift (CPU frequency, GC, other load on the machine) hits both alike;
 *    p50/p99/mean and their ratios bridge/direct. Two requests: OPTIONS (answered by the server's
 *    transaction layer) and an authenticated PUBLISH refresh (digest with a tracked nonce,
 *    SIP-If-Match, new ETag: the server's real per-request path).
 *  - throughput (`bridge.throughput`): 8 connections × 4 outstanding OPTIONS for a few seconds,
 *    request+response pairs/s, direct and bridged.
 *  - memory (`bridge.memory`): the server+bridge process's heap/RSS before and after opening N
 *    idle bridged WebSockets (default 5,000, after a full GC), per connection — the WebSocket,
 *    the bridge's state, the flow and the server's connection, all in that one process.
 * Secondary, labelled `…tcpUpstream` (what an operator with SIP_UPSTREAM, e.g. Kamailio, sees):
 * the bridge alone in its own process relaying over TCP to the same server — latency, throughput,
 * and memory per idle connection in both processes (bridge: WebSocket + TCP leg; server: TCP).
 * `bridge.processing`: the bridge's own CPU per message, in process, without sockets.
 *
 * File descriptors: 5,000 WebSockets need 5,000 descriptors here and in the server process, and
 * twice that in a separate bridge process; every process's limit is raised to 65,536 with
 * `prlimit` (needs CAP_SYS_RESOURCE; else the soft limit is raised to the hard one), and
 * `bridge.limits` prints what they got; `bridge.memory` prints how many connections were opened.
 */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import type { IncomingMessage } from "node:http";
import { EventEmitter } from "node:events";
import net from "node:net";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { createSipBridge, type SipBridge } from "../../lib/bridge";
import { BridgedConnection } from "../../lib/bridge/bridged-connection";
import { newMetrics } from "../../lib/bridge/metrics";
import { parseSessionAor } from "../../lib/bridge/rewrite";
import { MemoryAccountDirectory, PresenceServer, type PresenceStateStore } from "../../lib/server";
import {
  SipRequest,
  type SipMessageAny,
  SipStreamParser,
  buildDigestAuthorization,
  createMemoryFlow,
  createRequest,
  createResponse,
  generateTag,
  parseFrame,
  parseMessage,
  serializeMessage,
} from "../../lib/sip";
import { MemoryXcapStore } from "../../lib/xcap/server";

const SELF = fileURLToPath(import.meta.url);
const NOFILE = 65_536;
const DOMAIN = "bench.test";
const PASSWORD = "bench-password";
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};

const argText = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}
type Reply = { ready?: { port: number; sipPort?: number }; mem?: Mem; open?: number; flows?: number; sipConnections?: number; nofile?: number; cpu?: NodeJS.CpuUsage };

// ---- child roles ---------------------------------------------------------------------------------

/** `session=<user>` cookie → that user's AOR (default u0): each client path has its own identity. */
async function authenticate(req: IncomingMessage): Promise<{ aor: string }> {
  const m = /session=(u\d+)/.exec(req.headers.cookie ?? "");
  return { aor: `${m ? m[1] : "u0"}@${DOMAIN}` };
}

const BENCH_LIMITS = { maxMessagesPerSecond: 1e9, messageBurst: 1e9, maxConnections: 100_000 };

/** The deployed default: Herald's presence server with the bridge in the same process over in-process flows. */
async function runHerald(): Promise<void> {
  const accounts = new MemoryAccountDirectory().addDomain(DOMAIN);
  for (let i = 0; i < 8; i++) accounts.addAccount(`u${i}`, DOMAIN, PASSWORD);
  const offProcessStore: PresenceStateStore = { load: async () => [], apply: async () => {} };
  // every bench connection comes from 127.0.0.1: no per-address connection limit
  const server = new PresenceServer({ listen: { host: "127.0.0.1", tcpPort: 0 }, accounts, xcap: { store: new MemoryXcapStore() }, state: offProcessStore, maxConnectionsPerAddress: 0 });
  const addr = await server.start();
  const bridge = createSipBridge({ upstream: { openFlow: () => server.transport.openFlow() }, authenticate, limits: BENCH_LIMITS });
  const b = await bridge.listen(0, "127.0.0.1");
  serveIpc(bridge, () => ({ flows: server.transport.flowCount, sipConnections: server.transport.connectionCount }), { port: b.port, sipPort: addr.tcp!.port });
}

/** SIP_UPSTREAM style: the bridge alone, relaying over TCP. */
async function runTcpBridge(upstreamPort: number): Promise<void> {
  const bridge = createSipBridge({ upstream: { host: "127.0.0.1", port: upstreamPort }, authenticate, limits: BENCH_LIMITS });
  const b = await bridge.listen(0, "127.0.0.1");
  serveIpc(bridge, () => ({}), { port: b.port });
}

function serveIpc(bridge: SipBridge, extra: () => Partial<Reply>, ready: Reply["ready"]): void {
  process.on("message", (m: string) => {
    if (m === "mem") {
      for (let i = 0; i < 3; i++) globalThis.gc?.();
      const u = process.memoryUsage();
      process.send!({ mem: { rss: u.rss, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers }, open: bridge.metrics().connectionsOpen, ...extra() } satisfies Reply);
    } else if (m === "cpu") {
      process.send!({ cpu: process.cpuUsage() } satisfies Reply);
    } else if (m === "nofile") {
      process.send!({ nofile: nofileOf(process.pid) } satisfies Reply);
    }
  });
  process.on("disconnect", () => process.exit(0));
  process.send!({ ready } satisfies Reply);
}

// ---- descriptors -----------------------------------------------------------------------------------

/** Descriptor limit to 65,536 (needs CAP_SYS_RESOURCE), else at least the soft limit up to the hard one. */
function raiseNofile(pid: number): void {
  try {
    execFileSync("prlimit", [`--pid=${pid}`, `--nofile=${NOFILE}:${NOFILE}`], { stdio: "ignore" });
  } catch {
    try {
      const hard = execFileSync("prlimit", [`--pid=${pid}`, "--nofile", "--raw", "--noheadings", "--output=HARD"], { encoding: "utf8" }).trim();
      execFileSync("prlimit", [`--pid=${pid}`, `--nofile=${hard}:${hard}`], { stdio: "ignore" });
    } catch {
      // bridge.limits shows what we have
    }
  }
}

function nofileOf(pid: number): number {
  try {
    const out = execFileSync("prlimit", [`--pid=${pid}`, "--nofile", "--raw", "--noheadings", "--output=SOFT"], { encoding: "utf8" });
    return Number(out.trim());
  } catch {
    return NaN;
  }
}

// ---- clients ---------------------------------------------------------------------------------------

/** A SIP client connection: `onResponse` fires for each message received (parsed, as a UA would). */
interface Client {
  send(data: Buffer): void;
  onResponse: (raw: Buffer) => void;
  close(): void;
}

function directClient(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => {
      socket.setNoDelay(true);
      resolve(c);
    });
    const framer = new SipStreamParser();
    const c: Client = { send: (d) => socket.write(d), onResponse: () => {}, close: () => socket.destroy() };
    framer.on("message", (_m, raw) => c.onResponse(raw));
    socket.on("data", (d: Buffer) => framer.push(d));
    socket.once("error", reject);
  });
}

function wsClient(port: number, user = "u0"): Promise<Client & { ws: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/sip`, "sip", { perMessageDeflate: false, headers: { cookie: `session=${user}` } });
    const c = { ws, send: (d: Buffer) => ws.send(d, { binary: false }), onResponse: (_raw: Buffer) => {}, close: () => ws.terminate() };
    ws.on("message", (d: Buffer) => {
      parseMessage(d);
      c.onResponse(d);
    });
    ws.once("open", () => {
      ws.on("error", () => {});
      resolve(c);
    });
    ws.once("error", reject);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(times: number[]): { p50: number; p99: number; mean: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), mean: round(mean) };
}

/** `count` sequential round trips; each request made just before it is sent (not timed); µs per round trip. */
async function roundTrips(client: Client, count: number, make: () => Buffer, onAnswer: (raw: Buffer) => void = () => {}): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const data = make();
    const t0 = process.hrtime.bigint();
    const raw = await new Promise<Buffer>((resolve) => {
      client.onResponse = resolve;
      client.send(data);
    });
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
    onAnswer(raw);
  }
  return times;
}

async function throughput(clients: Client[], requests: Buffer[], window: number, seconds: number): Promise<number> {
  let done = 0;
  let stop = false;
  let next = 0;
  const finished: Promise<void>[] = [];
  for (const c of clients) {
    let inflight = 0;
    let resolveDone!: () => void;
    finished.push(new Promise<void>((r) => (resolveDone = r)));
    const pump = () => {
      while (!stop && inflight < window) {
        inflight++;
        c.send(requests[next++ % requests.length]!);
      }
      if (stop && inflight === 0) resolveDone();
    };
    c.onResponse = () => {
      inflight--;
      done++;
      pump();
    };
    pump();
  }
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const counted = done;
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  stop = true;
  await Promise.all(finished);
  return Math.round(counted / elapsed);
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}

/**
 * Requests for Herald's server as `user` over `c`: OPTIONS (answered by the transaction layer, no
 * auth), or authenticated PUBLISH refreshes (one challenge per connection, nc counting up, each
 * refresh carrying the ETag of the last answer).
 */
async function publisher(c: Client, user: string): Promise<{ options: () => Buffer; publish: () => Buffer; onAnswer: (raw: Buffer) => void }> {
  const aor = `sip:${user}@${DOMAIN}`;
  const callId = `bench-${generateTag()}`;
  const fromTag = generateTag();
  let cseq = 1;
  const build = (method: string, headers: Array<[string, string]>, body?: string) =>
    createRequest({
      method,
      uri: aor,
      from: `<${aor}>;tag=${fromTag}`,
      to: `<${aor}>`,
      callId,
      cseq: cseq++,
      via: { transport: "WSS", host: "k3b9x2p1q7.invalid" },
      headers,
      body,
      contentType: body === undefined ? undefined : "application/pidf+xml",
    });
  const roundTrip = (req: SipRequest) =>
    new Promise<SipMessageAny>((resolve) => {
      c.onResponse = (raw) => resolve(parseMessage(raw));
      c.send(serializeMessage(req));
    });
  const pidf = `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${aor}"><tuple id="t1"><status><basic>open</basic></status><note>bench</note></tuple></presence>`;
  const first = await roundTrip(build("PUBLISH", [["Event", "presence"], ["Expires", "3600"]], pidf));
  const status = first instanceof SipRequest ? 0 : first.status;
  const challenge = first.getHeader(status === 407 ? "Proxy-Authenticate" : "WWW-Authenticate");
  if ((status !== 401 && status !== 407) || !challenge) throw new Error(`PUBLISH: expected 401/407, got ${status}`);
  let nc = 1;
  const auth = (req: SipRequest) => {
    req.setHeader(status === 407 ? "Proxy-Authorization" : "Authorization", buildDigestAuthorization({ challenge, method: req.method, uri: req.uri.toString(), username: user, password: PASSWORD, nc: nc++ }));
    return req;
  };
  const initial = await roundTrip(auth(build("PUBLISH", [["Event", "presence"], ["Expires", "3600"]], pidf)));
  let etag = initial.getHeader("SIP-ETag");
  if (initial instanceof SipRequest || initial.status !== 200 || !etag) throw new Error(`initial PUBLISH: ${String((initial as { status?: number }).status)}`);
  return {
    options: () => serializeMessage(build("OPTIONS", [["Accept", "application/sdp"]])),
    publish: () => serializeMessage(auth(build("PUBLISH", [["Event", "presence"], ["Expires", "3600"], ["SIP-If-Match", etag!]]))),
    onAnswer: (raw) => {
      const m = /\r\nSIP-ETag:[ \t]*([^\r]+)/i.exec(raw.toString("latin1"));
      if (m) etag = m[1]!.trim();
    },
  };
}

function child(role: string, extra: string[] = []): Promise<{ proc: ChildProcess; ready: NonNullable<Reply["ready"]> }> {
  const profDir = argText("cpu-prof");
  const execArgv = ["--import", "tsx", "--expose-gc", ...(profDir ? ["--cpu-prof", "--cpu-prof-dir", profDir] : [])];
  const proc = fork(SELF, [role, ...extra], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  if (proc.pid) raiseNofile(proc.pid);
  return new Promise((resolve, reject) => {
    proc.once("message", (m: Reply) => resolve({ proc, ready: m.ready! }));
    proc.once("exit", (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

/** Ask a child to exit (it does on IPC disconnect, writing its `--cpu-prof` profile); kill it if it has not after 5 s. */
function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill(), 5000);
    proc.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    proc.disconnect();
  });
}

function ask(proc: ChildProcess, what: "mem" | "nofile" | "cpu"): Promise<Reply> {
  return new Promise((resolve) => {
    proc.once("message", (m: Reply) => resolve(m));
    proc.send(what);
  });
}

/**
 * The bridge's own CPU per message, in process and without sockets: a real BridgedConnection on
 * a stand-in WebSocket and an in-memory flow, as in the deployed default — a browser request
 * (layout scan, Via + Contact edit, the one parse, identity check, handed to the flow) and an
 * upstream response (whole from the server: Via cut, WebSocket send). `ofWhichTheParse`: the
 * parse alone — the embedded server's own parse of the message, which it no longer repeats.
 */
async function processingCost(): Promise<{ clientToUpstream: number; ofWhichTheParse: number; upstreamToClient: number }> {
  const requests = Array.from({ length: 100 }, (_, i) =>
    serializeMessage(
      createRequest({
        method: "OPTIONS",
        uri: "sip:u0@bench.test",
        from: `<sip:u0@bench.test>;tag=${generateTag()}`,
        to: "<sip:u0@bench.test>",
        cseq: i + 1,
        via: { transport: "WSS", host: "k3b9x2p1q7.invalid" },
        contact: "<sip:h7f2k9a1@k3b9x2p1q7.invalid;transport=ws;ob>",
      }),
    ),
  );
  const ws = Object.assign(new EventEmitter(), { OPEN: 1, CONNECTING: 0, readyState: 1, bufferedAmount: 0, send: () => {}, pause: () => {}, resume: () => {}, close: () => {}, terminate: () => {}, ping: () => {} });
  const [bridgeEnd, serverEnd] = createMemoryFlow({ address: "0.0.0.0", port: 40000 }, { address: "127.0.0.1", port: 5060 });
  let sample: Buffer | undefined;
  serverEnd.on("message", (raw) => (sample ??= raw));
  const limits = { maxMessageBytes: 65_536, maxUpstreamMessageBytes: 4 << 20, maxMessagesPerSecond: 1e9, messageBurst: 1e9, idleTimeoutMs: 0, upstreamKeepAliveMs: 0 };
  new BridgedConnection({ id: "1", ws: ws as unknown as WebSocket, upstream: bridgeEnd, transport: "TCP", identity: parseSessionAor(`u0@${DOMAIN}`)!, limits, metrics: newMetrics(), log: () => {}, onClose: () => {} });
  const n = 20_000;
  // in blocks of 100, the flow's deliveries (microtasks) between blocks: nothing piles up
  const timed = async (send: (i: number) => void, timeDeliveries: boolean): Promise<number> => {
    let elapsed = 0n;
    for (let round = 0; round < 2; round++) {
      elapsed = 0n; // the first round is the warm-up
      for (let i = 0; i < n; i += 100) {
        const t0 = process.hrtime.bigint();
        for (let j = i; j < i + 100; j++) send(j);
        if (timeDeliveries) await null;
        elapsed += process.hrtime.bigint() - t0;
        if (!timeDeliveries) await null;
      }
    }
    return Number(elapsed) / 1000 / n;
  };
  const c2u = await timed((i) => ws.emit("message", requests[i % requests.length]!, false), false);
  if (!sample) throw new Error("processing bench: nothing reached the flow");
  const edited = sample;
  const headEnd = edited.indexOf("\r\n\r\n");
  const parse = await timed(() => parseFrame(edited, headEnd), false);
  const response = serializeMessage(createResponse(parseFrame(edited, headEnd) as SipRequest, 200, { toTag: "t1" }));
  const sent = ws.send;
  let delivered = 0;
  ws.send = () => void delivered++;
  // responses are delivered in the flow's microtask: time the writes and their delivery together
  const u2c = await timed(() => serverEnd.writeMessage(response), true);
  ws.send = sent;
  if (delivered !== 2 * n) throw new Error(`processing bench: ${delivered} of ${2 * n} responses relayed`);
  return { clientToUpstream: round(c2u), ofWhichTheParse: round(parse), upstreamToClient: round(u2c) };
}

const print = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + "\n");

interface Path {
  name: string;
  client: Client;
  p: Awaited<ReturnType<typeof publisher>>;
  times: Record<"options" | "publish", number[]>;
  /** CPU µs (user + system) spent during this path's timed round trips, by the server process and by this client. */
  cpu: Record<"options" | "publish", { server: number; client: number }>;
}

async function openPath(name: string, client: Client, user: string): Promise<Path> {
  return { name, client, p: await publisher(client, user), times: { options: [], publish: [] }, cpu: { options: { server: 0, client: 0 }, publish: { server: 0, client: 0 } } };
}

/** Blocks of `block` round trips per path in turn, after a warm-up; every path sees the same conditions. */
async function latencies(paths: Path[], rtts: number, block: number, server: ChildProcess): Promise<void> {
  const warmup = Math.min(1000, Math.floor(rtts / 5));
  for (const kind of ["options", "publish"] as const) {
    for (const path of paths) await roundTrips(path.client, warmup, path.p[kind], path.p.onAnswer);
    for (let done = 0; done < rtts; done += block) {
      for (const path of paths) {
        const serverBefore = (await ask(server, "cpu")).cpu!;
        const clientBefore = process.cpuUsage();
        path.times[kind].push(...(await roundTrips(path.client, Math.min(block, rtts - done), path.p[kind], path.p.onAnswer)));
        const client = process.cpuUsage(clientBefore);
        const serverAfter = (await ask(server, "cpu")).cpu!;
        path.cpu[kind].server += serverAfter.user + serverAfter.system - serverBefore.user - serverBefore.system;
        path.cpu[kind].client += client.user + client.system;
      }
    }
  }
}

const REQUEST_NAMES = { options: "OPTIONS (transaction layer, 200)", publish: "authenticated PUBLISH refresh (digest, SIP-If-Match, 200 + new ETag)" };

/** µs of CPU per round trip: the server(+bridge) process, and the bench client (WebSocket framing, parsing). */
function cpuPer(path: Path, kind: "options" | "publish"): { server: number; client: number } {
  const n = path.times[kind].length;
  return { server: round(path.cpu[kind].server / n), client: round(path.cpu[kind].client / n) };
}

function latencyLine(bench: string, kind: "options" | "publish", direct: Path, bridged: Path, label: string): void {
  const d = summary(direct.times[kind]);
  const b = summary(bridged.times[kind]);
  print({
    bench,
    setup: label,
    request: REQUEST_NAMES[kind],
    unit: "µs per request→response round trip",
    samples: direct.times[kind].length,
    direct: d,
    bridged: b,
    addedP50: round(b.p50 - d.p50),
    addedP99: round(b.p99 - d.p99),
    ratioP50: ratio(b.p50, d.p50),
    ratioP99: ratio(b.p99, d.p99),
    ratioMean: ratio(b.mean, d.mean),
    cpuPerRoundTrip: { unit: "µs CPU (user + system); server: the SIP server's process", direct: cpuPer(direct, kind), bridged: cpuPer(bridged, kind) },
    target: "ratio ≤ 1.2",
  });
}

/** Open `n` idle WebSockets in batches; those that failed are counted, not fatal. */
async function openIdle(port: number, n: number): Promise<{ sockets: WebSocket[]; failed: number; firstError?: string }> {
  const sockets: WebSocket[] = [];
  let failed = 0;
  let firstError: string | undefined;
  const batch = 250;
  for (let i = 0; i < n; i += batch) {
    const opened = await Promise.allSettled(Array.from({ length: Math.min(batch, n - i) }, () => wsClient(port)));
    for (const r of opened) {
      if (r.status === "fulfilled") sockets.push(r.value.ws);
      else {
        failed++;
        firstError ??= String(r.reason);
      }
    }
  }
  return { sockets, failed, firstError };
}

/** Ask for memory until the bridge holds `target` connections (and, when asked, the server `sipConnections`). */
async function settleOpen(proc: ChildProcess, target: number, sipConnections?: number): Promise<Reply> {
  let r = await ask(proc, "mem");
  for (let i = 0; i < 300 && (r.open !== target || (sipConnections !== undefined && r.sipConnections !== sipConnections)); i++) {
    await new Promise((res) => setTimeout(res, 20));
    r = await ask(proc, "mem");
  }
  return r;
}

const perConnection = (before: Mem, after: Mem, n: number) => ({
  rss: Math.round((after.rss - before.rss) / n),
  heapUsed: Math.round((after.heapUsed - before.heapUsed) / n),
  external: Math.round((after.external - before.external) / n),
});

async function main(): Promise<void> {
  const rtts = arg("rtts", 5000);
  const seconds = arg("seconds", 3);
  const idle = arg("idle", 5000);
  const withTcp = !process.argv.includes("--no-tcp-upstream");
  raiseNofile(process.pid);
  const herald = await child("herald");
  const sipPort = herald.ready.sipPort!;
  const tcpBridge = withTcp ? await child("bridge", [String(sipPort)]) : undefined;
  try {
    print({
      bench: "bridge.limits",
      nofile: { client: nofileOf(process.pid), heraldWithBridge: (await ask(herald.proc, "nofile")).nofile, ...(tcpBridge ? { tcpBridge: (await ask(tcpBridge.proc, "nofile")).nofile } : {}) },
      cpus: (await import("node:os")).cpus().length,
      loadavg: (await import("node:os")).loadavg().map(round),
    });

    // ---- latency: one user per path, so publications (and ETags) do not interfere
    const direct = await openPath("direct", await directClient(sipPort), "u0");
    const inProcess = await openPath("in-process bridge", await wsClient(herald.ready.port, "u1"), "u1");
    const paths = [direct, inProcess];
    const tcp = tcpBridge ? await openPath("tcp bridge", await wsClient(tcpBridge.ready.port, "u2"), "u2") : undefined;
    if (tcp) paths.push(tcp);
    await latencies(paths, rtts, 250, herald.proc);
    for (const kind of ["options", "publish"] as const) {
      latencyLine("bridge.latency", kind, direct, inProcess, "deployed default: server and bridge in one process, in-process flow");
      if (tcp) latencyLine("bridge.latency.tcpUpstream", kind, direct, tcp, "SIP_UPSTREAM style: bridge in its own process → TCP → server");
    }
    for (const p of paths) p.client.close();

    print({ bench: "bridge.processing", unit: "µs of bridge CPU per message (in process, no sockets)", ...(await processingCost()) });

    // ---- throughput: 8 connections × 4 outstanding OPTIONS
    const conns = 8;
    const window = 4;
    const reqs = (user: string) =>
      Array.from({ length: 200 }, (_, i) => serializeMessage(createRequest({ method: "OPTIONS", uri: `sip:${user}@${DOMAIN}`, from: `<sip:${user}@${DOMAIN}>;tag=${generateTag()}`, to: `<sip:${user}@${DOMAIN}>`, cseq: i + 1, via: { transport: "WSS", host: "k3b9x2p1q7.invalid" } })));
    const rate = async (open: () => Promise<Client>) => {
      const cs = await Promise.all(Array.from({ length: conns }, open));
      const r = await throughput(cs, reqs("u0"), window, seconds);
      cs.forEach((c) => c.close());
      return r;
    };
    const directRate = await rate(() => directClient(sipPort));
    const bridgedRate = await rate(() => wsClient(herald.ready.port));
    const tcpRate = tcpBridge ? await rate(() => wsClient(tcpBridge.ready.port)) : undefined;
    print({ bench: "bridge.throughput", unit: "OPTIONS request+response pairs/s", connections: conns, outstandingPerConnection: window, seconds, direct: directRate, bridged: bridgedRate, ratio: ratio(bridgedRate, directRate), note: "bridged: bridge and server share one process (one CPU)" });
    if (tcpRate !== undefined) print({ bench: "bridge.throughput.tcpUpstream", unit: "OPTIONS request+response pairs/s", connections: conns, outstandingPerConnection: window, seconds, direct: directRate, bridged: tcpRate, ratio: ratio(tcpRate, directRate), note: "bridge in its own process (its own CPU)" });

    // ---- memory per idle bridged connection, in-process default
    const before = await settleOpen(herald.proc, 0, 0);
    const opened = await openIdle(herald.ready.port, idle);
    const after = await settleOpen(herald.proc, opened.sockets.length);
    const n = after.open!;
    print({
      bench: "bridge.memory",
      setup: "deployed default: server and bridge in one process, in-process flow",
      unit: "bytes",
      asked: idle,
      idleConnections: n,
      serverFlows: after.flows,
      failed: opened.failed,
      ...(opened.firstError ? { firstError: opened.firstError } : {}),
      before: { rss: before.mem!.rss, heapUsed: before.mem!.heapUsed },
      after: { rss: after.mem!.rss, heapUsed: after.mem!.heapUsed },
      perConnection: perConnection(before.mem!, after.mem!, n),
      note: "one process: WebSocket + bridge state + in-memory flow + server connection and framer, after full GC",
    });
    for (const ws of opened.sockets) ws.terminate();

    if (tcpBridge) {
      const serverBefore = await settleOpen(herald.proc, 0, 0);
      const bridgeBefore = await settleOpen(tcpBridge.proc, 0);
      const o = await openIdle(tcpBridge.ready.port, idle);
      const bridgeAfter = await settleOpen(tcpBridge.proc, o.sockets.length);
      const serverAfter = await settleOpen(herald.proc, 0, o.sockets.length);
      const m = bridgeAfter.open!;
      const b = perConnection(bridgeBefore.mem!, bridgeAfter.mem!, m);
      const s = perConnection(serverBefore.mem!, serverAfter.mem!, m);
      print({
        bench: "bridge.memory.tcpUpstream",
        setup: "SIP_UPSTREAM style: bridge in its own process → TCP → server",
        unit: "bytes",
        asked: idle,
        idleConnections: m,
        serverTcpConnections: (serverAfter.sipConnections ?? 0) - (serverBefore.sipConnections ?? 0),
        failed: o.failed,
        ...(o.firstError ? { firstError: o.firstError } : {}),
        perConnection: { bridgeProcess: b, serverProcess: s, total: { rss: b.rss + s.rss, heapUsed: b.heapUsed + s.heapUsed, external: b.external + s.external } },
        note: "bridge: WebSocket + TCP leg + framer; server: TCP connection + framer; after full GC",
      });
      for (const ws of o.sockets) ws.terminate();
    }
  } finally {
    await Promise.all([tcpBridge?.proc, herald.proc].map((p) => p && stop(p)));
  }
}

const role = process.argv[2];
if (role === "herald") void runHerald();
else if (role === "bridge") void runTcpBridge(Number(process.argv[3]));
else
  main().catch((e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  });
