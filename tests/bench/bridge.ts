/**
 * Bridge overhead benchmark (issue 6, benchmark a). Prints JSON lines; no assertions.
 *
 *   npx tsx tests/bench/bridge.ts [--rtts 5000] [--seconds 3] [--idle 5000]
 *
 * Three processes so that no hop shares an event loop with another: an echo SIP server over TCP
 * (answers every request with 200), the bridge (createSipBridge → that server), and this process
 * as the client. The same requests are timed over a direct TCP connection to the server and
 * through the bridge over WebSocket:
 *  - latency: sequential request → response round trips (p50/p99/mean), ratio bridge/direct;
 *  - throughput: 16 connections × 8 outstanding requests for a few seconds, messages/s;
 *  - memory: bridge RSS/heap before and after opening N idle bridged connections (default
 *    5,000, after a full GC), per connection.
 * 5,000 bridged connections need ~10,000 descriptors in the bridge process and 5,000 each in
 * the others: raise the limit first if `ulimit -n` is lower (e.g. `ulimit -n 65536`).
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import net from "node:net";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { createSipBridge } from "../../lib/bridge";
import { editClientMessage } from "../../lib/bridge/rewrite";
import { classifyUpstream, cutBytes, topViaBranch } from "../../lib/bridge/upstream-framer";
import {
  SipRequest,
  type NameAddr,
  type SipMessageAny,
  type SipUri,
  SipStreamParser,
  SipStreamFramer,
  buildDigestAuthorization,
  createRequest,
  createResponse,
  generateTag,
  parseMessage,
  serializeMessage,
} from "../../lib/sip";

const SELF = fileURLToPath(import.meta.url);
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};

type Msg = { port?: number; mem?: { rss: number; heapUsed: number; external: number; arrayBuffers: number }; open?: number };

// ---- child roles ---------------------------------------------------------------------------------

function runUpstream(): void {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const framer = new SipStreamParser();
    framer.on("message", (msg) => {
      if (msg instanceof SipRequest) socket.write(serializeMessage(createResponse(msg, 200, { toTag: "t1" })));
    });
    framer.on("keepalive", (k) => k === "ping" && socket.write("\r\n"));
    socket.on("data", (d: Buffer) => framer.push(d));
    socket.on("error", () => {});
  });
  server.maxConnections = 100_000;
  server.listen(0, "127.0.0.1", () => process.send!({ port: (server.address() as net.AddressInfo).port } satisfies Msg));
}

async function runBridge(upstreamPort: number, aor: string): Promise<void> {
  const bridge = createSipBridge({
    upstream: { host: "127.0.0.1", port: upstreamPort },
    authenticate: async () => ({ aor }),
    limits: { maxMessagesPerSecond: 1e9, messageBurst: 1e9, maxConnections: 100_000 },
  });
  const addr = await bridge.listen(0, "127.0.0.1");
  process.on("message", (m: string) => {
    if (m !== "mem") return;
    for (let i = 0; i < 3; i++) globalThis.gc?.();
    const u = process.memoryUsage();
    process.send!({ mem: { rss: u.rss, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers }, open: bridge.metrics().connectionsOpen } satisfies Msg);
  });
  process.send!({ port: addr.port } satisfies Msg);
}

// ---- clients ---------------------------------------------------------------------------------------

function request(i: number): Buffer {
  return serializeMessage(
    createRequest({
      method: i % 2 === 0 ? "OPTIONS" : "MESSAGE",
      uri: "sip:bob@example.test",
      from: `<sip:alice@example.test>;tag=${generateTag()}`,
      to: "<sip:bob@example.test>",
      cseq: i + 1,
      via: { transport: "WSS", host: "k3b9x2p1q7.invalid" },
      contact: "<sip:h7f2k9a1@k3b9x2p1q7.invalid;transport=ws;ob>",
      body: i % 2 === 0 ? undefined : "hello bob, this is a short instant message",
      contentType: i % 2 === 0 ? undefined : "text/plain",
    }),
  );
}

/** A SIP client connection: send a request, `onResponse` fires per response (parsed, like a UA would). */
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

function wsClient(port: number): Promise<Client & { ws: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/sip`, "sip", { perMessageDeflate: false });
    const c = { ws, send: (d: Buffer) => ws.send(d, { binary: false }), onResponse: (_raw: Buffer) => {}, close: () => ws.terminate() };
    ws.on("message", (d: Buffer) => {
      parseMessage(d);
      c.onResponse(d);
    });
    ws.once("open", () => resolve(c));
    ws.once("error", reject);
  });
}

let lastResponse: Buffer | undefined;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** `requests`: the bytes to send, or a maker called before the clock starts (authenticated requests). */
async function latency(client: Client, requests: Buffer[] | { count: number; make: (i: number) => Buffer }, warmup: number): Promise<{ p50: number; p99: number; mean: number }> {
  const times: number[] = [];
  const count = Array.isArray(requests) ? requests.length : requests.count;
  for (let i = 0; i < count; i++) {
    const data = Array.isArray(requests) ? requests[i] : requests.make(i);
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      client.onResponse = (raw) => {
        lastResponse = raw;
        resolve();
      };
      client.send(data);
    });
    if (i >= warmup) times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return { p50: round(percentile(times, 50)), p99: round(percentile(times, 99)), mean: round(mean) };
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
        c.send(requests[next++ % requests.length]);
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

/** Herald's embedded presence server (tests/bench/presence-herald-server.ts) as the upstream, in its own process. */
function heraldChild(): Promise<{ proc: ChildProcess; port: number }> {
  const script = fileURLToPath(new URL("./presence-herald-server.ts", import.meta.url));
  const proc = spawn(process.execPath, ["--expose-gc", "--import", "tsx", script, "--domain", HERALD_DOMAIN, "--users", "4", "--password", HERALD_PASSWORD, "--prefix", "u"], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once("line", (l) => resolve({ proc, port: (JSON.parse(l) as { port: number }).port }));
    proc.once("exit", (code) => reject(new Error(`herald upstream exited with ${code}`)));
  });
}

const HERALD_DOMAIN = "bench.test";
const HERALD_PASSWORD = "bench-password";

/**
 * Requests for Herald's server as `user`: OPTIONS (answered by the transaction layer, no auth), or
 * authenticated PUBLISH refreshes (digest check with a tracked nonce, SIP-If-Match against the
 * publication, new ETag, watchers none): the server's real per-request path. One challenge per
 * connection (a 401 first), nc counting up; each refresh carries the ETag of the last answer.
 */
async function heraldPublisher(c: Client, user: string): Promise<{ options: (i: number) => Buffer; publish: (i: number) => Buffer }> {
  const aor = `sip:${user}@${HERALD_DOMAIN}`;
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
  if ((status !== 401 && status !== 407) || !challenge) throw new Error(`herald PUBLISH: expected 401/407, got ${status}`);
  let nc = 1;
  const auth = (req: SipRequest) => {
    req.setHeader(status === 407 ? "Proxy-Authorization" : "Authorization", buildDigestAuthorization({ challenge, method: req.method, uri: req.uri.toString(), username: user, password: HERALD_PASSWORD, nc: nc++ }));
    return req;
  };
  const initial = await roundTrip(auth(build("PUBLISH", [["Event", "presence"], ["Expires", "3600"]], pidf)));
  let etag = initial.getHeader("SIP-ETag");
  if (initial instanceof SipRequest || initial.status !== 200 || !etag) throw new Error(`herald initial PUBLISH: ${String((initial as { status?: number }).status)}`);
  return {
    options: () => serializeMessage(build("OPTIONS", [["Accept", "application/sdp"]])),
    publish: () => {
      // the ETag of the previous answer (latency() keeps the last response)
      const m = lastResponse && /\r\nSIP-ETag:[ \t]*([^\r]+)/i.exec(lastResponse.toString("latin1"));
      if (m) etag = m[1]!.trim();
      return serializeMessage(auth(build("PUBLISH", [["Event", "presence"], ["Expires", "3600"], ["SIP-If-Match", etag!]])));
    },
  };
}

function child(role: string, extra: string[] = []): Promise<{ proc: ChildProcess; port: number }> {
  const proc = fork(SELF, [role, ...extra], { execArgv: ["--import", "tsx", "--expose-gc"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    proc.once("message", (m: Msg) => resolve({ proc, port: m.port! }));
    proc.once("exit", (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

function memOf(proc: ChildProcess): Promise<Required<Msg>["mem"] & { open: number }> {
  return new Promise((resolve) => {
    proc.once("message", (m: Msg) => resolve({ ...m.mem!, open: m.open! }));
    proc.send("mem");
  });
}

/**
 * The bridge's own CPU per message, in process and without sockets: what it does to a browser
 * request (parse, identity, Via + Contact rewrite) and to an upstream response (frame + parse,
 * strip Via). The rest of the added latency is the extra hop (two more socket writes/reads).
 */
function processingCost(requests: Buffer[]): { clientToUpstream: number; upstreamToClient: number } {
  const n = 20_000;
  let out: Buffer = requests[0];
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const raw = requests[i % requests.length];
    const m = parseMessage(raw);
    void m.from.uri;
    const contacts = (m.contact as NameAddr[]).map((c) => {
      const r = c.clone();
      const u = r.uri as SipUri;
      u.host = "127.0.0.1";
      u.port = 40000;
      u.params.set("transport", "tcp");
      return r;
    });
    out = editClientMessage(raw, m, { via: `SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bK-hb1-${m.topVia?.branch};rport;alias`, contacts });
  }
  const c2u = Number(process.hrtime.bigint() - t0) / 1000 / n;
  const response = serializeMessage(createResponse(parseMessage(out) as SipRequest, 200, { toTag: "t1" }));
  // as BridgedConnection does: frame without parsing, find the top Via, cut it out of the bytes
  const framer = new SipStreamFramer(16 * 1024, 4 * 1024 * 1024, {
    message: (raw, headEnd) => {
      const m = classifyUpstream(raw, headEnd);
      if (m.kind === "response" && m.via && topViaBranch(m.via.value)) cutBytes(raw, m.via.start, m.via.end);
    },
    keepalive: () => {},
    framingError: () => {},
  });
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) framer.push(response);
  const u2c = Number(process.hrtime.bigint() - t0) / 1000 / n;
  return { clientToUpstream: round(c2u), upstreamToClient: round(u2c) };
}

const print = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + "\n");

async function main(): Promise<void> {
  const rtts = arg("rtts", 5000);
  const seconds = arg("seconds", 3);
  const idle = arg("idle", 5000);
  const upstream = await child("upstream");
  const bridge = await child("bridge", [String(upstream.port)]);
  try {
    const requests = Array.from({ length: 1000 }, (_, i) => request(i));
    const seq = Array.from({ length: rtts }, (_, i) => requests[i % requests.length]);
    const warmup = Math.min(1000, Math.floor(rtts / 5));

    const d = await directClient(upstream.port);
    const w = await wsClient(bridge.port);
    // interleave the two so drift (CPU frequency, GC) hits both alike
    await latency(d, seq.slice(0, warmup), warmup);
    await latency(w, seq.slice(0, warmup), warmup);
    const direct = await latency(d, seq, warmup);
    const bridged = await latency(w, seq, warmup);
    d.close();
    w.close();
    print({ bench: "bridge.latency", unit: "µs per request→response round trip", samples: rtts - warmup, direct, bridged, addedP50: round(bridged.p50 - direct.p50), addedP99: round(bridged.p99 - direct.p99), ratioP50: ratio(bridged.p50, direct.p50), ratioMean: ratio(bridged.mean, direct.mean), target: "ratio ≤ 1.2" });

    if (!process.argv.includes("--no-herald")) await heraldUpstream(rtts, warmup);

    print({ bench: "bridge.processing", unit: "µs of bridge CPU per message (in process, no sockets)", ...processingCost(requests) });

    const conns = 16;
    const window = 8;
    const dcs = await Promise.all(Array.from({ length: conns }, () => directClient(upstream.port)));
    const directRate = await throughput(dcs, requests, window, seconds);
    dcs.forEach((c) => c.close());
    const wcs = await Promise.all(Array.from({ length: conns }, () => wsClient(bridge.port)));
    const bridgedRate = await throughput(wcs, requests, window, seconds);
    wcs.forEach((c) => c.close());
    print({ bench: "bridge.throughput", unit: "SIP request+response pairs/s", connections: conns, outstandingPerConnection: window, seconds, direct: directRate, bridged: bridgedRate, ratio: ratio(bridgedRate, directRate) });

    // let the closes above settle before the memory baseline
    for (let i = 0; i < 200 && (await memOf(bridge.proc)).open > 0; i++) await new Promise((r) => setTimeout(r, 10));
    const before = await memOf(bridge.proc);
    const idleClients: WebSocket[] = [];
    const batch = 250;
    for (let i = 0; i < idle; i += batch) {
      const opened = await Promise.all(Array.from({ length: Math.min(batch, idle - i) }, () => wsClient(bridge.port)));
      idleClients.push(...opened.map((c) => c.ws));
    }
    const after = await memOf(bridge.proc);
    const per = (k: "rss" | "heapUsed" | "external") => Math.round((after[k] - before[k]) / idle);
    print({
      bench: "bridge.memory",
      unit: "bytes",
      idleConnections: after.open,
      before: { rss: before.rss, heapUsed: before.heapUsed },
      after: { rss: after.rss, heapUsed: after.heapUsed },
      perConnection: { rss: per("rss"), heapUsed: per("heapUsed"), external: per("external") },
      note: "bridge process only (WebSocket + TCP leg + framer per connection), after full GC",
    });
    for (const ws of idleClients) ws.terminate();
  } finally {
    bridge.proc.kill();
    upstream.proc.kill();
  }
}

/** Same comparison with Herald's real presence server behind the bridge (and directly). */
async function heraldUpstream(rtts: number, warmup: number): Promise<void> {
  const herald = await heraldChild();
  const bridge = await child("bridge", [String(herald.port), `u0@${HERALD_DOMAIN}`]);
  try {
    // one user per path: their publications (and ETags) do not interfere
    const d = await directClient(herald.port);
    const w = await wsClient(bridge.port);
    const dp = await heraldPublisher(d, "u0");
    const wp = await heraldPublisher(w, "u0");
    for (const kind of ["options", "publish"] as const) {
      await latency(d, { count: warmup, make: dp[kind] }, warmup);
      await latency(w, { count: warmup, make: wp[kind] }, warmup);
      const direct = await latency(d, { count: rtts, make: dp[kind] }, warmup);
      const bridged = await latency(w, { count: rtts, make: wp[kind] }, warmup);
      print({
        bench: "bridge.latency.herald",
        request: kind === "options" ? "OPTIONS (transaction layer, 200)" : "authenticated PUBLISH refresh (digest, SIP-If-Match, 200 + new ETag)",
        unit: "µs per request→response round trip",
        samples: rtts - warmup,
        direct,
        bridged,
        addedP50: round(bridged.p50 - direct.p50),
        addedP99: round(bridged.p99 - direct.p99),
        ratioP50: ratio(bridged.p50, direct.p50),
        ratioP99: ratio(bridged.p99, direct.p99),
        ratioMean: ratio(bridged.mean, direct.mean),
        target: "ratio ≤ 1.2",
      });
    }
    d.close();
    w.close();
    // throughput: 8 connections × 4 outstanding OPTIONS each way
    const conns = 8;
    const reqs = Array.from({ length: 200 }, (_, i) => serializeMessage(createRequest({ method: "OPTIONS", uri: `sip:u0@${HERALD_DOMAIN}`, from: `<sip:u0@${HERALD_DOMAIN}>;tag=${generateTag()}`, to: `<sip:u0@${HERALD_DOMAIN}>`, cseq: i + 1, via: { transport: "WSS", host: "k3b9x2p1q7.invalid" } })));
    const dcs = await Promise.all(Array.from({ length: conns }, () => directClient(herald.port)));
    const directRate = await throughput(dcs, reqs, 4, 3);
    dcs.forEach((c) => c.close());
    const wcs = await Promise.all(Array.from({ length: conns }, () => wsClient(bridge.port)));
    const bridgedRate = await throughput(wcs, reqs, 4, 3);
    wcs.forEach((c) => c.close());
    print({ bench: "bridge.throughput.herald", unit: "OPTIONS request+response pairs/s", connections: conns, outstandingPerConnection: 4, seconds: 3, direct: directRate, bridged: bridgedRate, ratio: ratio(bridgedRate, directRate) });
  } finally {
    bridge.proc.kill();
    herald.proc.kill();
  }
}

const role = process.argv[2];
if (role === "upstream") runUpstream();
else if (role === "bridge") void runBridge(Number(process.argv[3]), process.argv[4] ?? "alice@example.test");
else
  main().catch((e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  });
