/**
 * XCAP benchmark (issue 4). Prints JSON lines, no assertions:
 *   npx tsx tests/bench/xcap.ts [--seconds 3] [--concurrency 10,50] [--contacts 200]
 *        [--url <xcap-root> --user <name> --password <pw> [--domain <d>]]   # also any XCAP server
 *        [--portal] [--no-kamailio] [--kamailio-children 4] [--ops get-document,get-node,put-element]
 *        [--rounds 3] [--portal-sqlite-synchronous off|normal]
 *
 * Operations, each at every concurrency level (one XcapClient with its own digest session per
 * concurrent worker, HTTP keep-alive):
 *   get-document   GET resource-lists/users/<xui>/index (a 200-contact list)
 *   get-node       GET …/index/~~/resource-lists/list[@name="buddies"]/entry[@uri="…"]
 *   put-element    PUT of one entry element (replace; each worker toggles its own entry)
 * Targets, measured in the same run, each in its own process(es):
 *   herald         Herald's XCAP core (lib/xcap/server, MemoryXcapStore) over node:http + digest,
 *                  in a child process (tests/bench/xcap-herald-server.ts)
 *   portal-prisma  with --portal: the portal's deployment path — createXcapHttp (lib/portal/xcap-http.ts,
 *                  digest against the accounts table, fetch Request/Response as in the Next.js route)
 *                  over PrismaXcapStore on SQLite, behind node:http, in a child process
 *                  (tests/bench/xcap-portal-server.ts); its SQLite runs with synchronous=off by default,
 *                  the durability of the Kamailio reference's PostgreSQL (fsync=off), or with
 *                  --portal-sqlite-synchronous normal, Herald's deployment setting (fsync at WAL
 *                  checkpoints, which block the event loop while the disk is busy)
 *   url            the server given by --url (e.g. the portal's /xcap-root route), when given
 *   kamailio       Kamailio 5.6 xcap_server (tests/helpers/kamailio.ts), when installed
 * Each operation and concurrency is measured in --rounds rounds of seconds/rounds each; a round runs
 * every target once, in an order rotated from round to round, so a change in the machine's other
 * load (a shared 2-core machine) spreads over all targets instead of falling on one.
 * Then one `xcap-ratio` line per operation, concurrency and target: rps(target) / rps(kamailio).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { cpus } from "node:os";
import { XcapClient } from "../../lib/xcap/client";
import { digestHa1 } from "../../lib/accounts/password";
import { kamailioAvailable, startKamailio, type KamailioServer } from "../helpers/kamailio";
import { numberedContacts, resourceListsXml } from "../helpers/kamailio-documents";

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const flag = (name: string) => argv.includes(`--${name}`);
const SECONDS = Number(opt("seconds") ?? 3);
const WARMUP_MS = Number(opt("warmup-ms") ?? 500);
const CONCURRENCY = (opt("concurrency") ?? "10,50").split(",").map(Number);
const CONTACTS = Number(opt("contacts") ?? 200);
const OP_NAMES = opt("ops")?.split(",");
const ROUNDS = Math.max(1, Number(opt("rounds") ?? 3));
const DOMAIN = opt("domain") ?? "example.test";
const USER = "alice";
const PASSWORD = "Bench-xcap-pass1"; // passes the portal's password policy

function line(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + "\n");
}

interface Target {
  name: string;
  root: string;
  user: string;
  domain: string;
  ha1: string;
  /** Kamailio's If-None-Match wildcard quirk */
  wildcard: "*" | '"*"';
}

interface Op {
  name: string;
  run(client: XcapClient, worker: number, i: number): Promise<unknown>;
}

const LIST = "buddies";
const entrySelector = (uri: string) => `/resource-lists/list[@name="${LIST}"]/entry[@uri="${uri}"]`;
const contacts = numberedContacts(CONTACTS, DOMAIN);
const probe = contacts[Math.floor(CONTACTS / 2)]!.uri;

const OPS: Op[] = [
  {
    name: "get-document",
    run: async (c) => {
      const r = await c.getDocument("resource-lists", "index");
      if (!r || r.xml.length < CONTACTS * 40) throw new Error("short document");
    },
  },
  {
    name: "get-node",
    run: async (c) => {
      const r = await c.getElement("resource-lists", "index", entrySelector(probe));
      if (!r) throw new Error("node not found");
    },
  },
  {
    name: "put-element",
    run: async (c, worker, i) => {
      // worker w owns contact w (w < CONTACTS): replace its element, toggling the display name
      const uri = contacts[worker % CONTACTS]!.uri;
      await c.putElement("resource-lists", "index", entrySelector(uri), `<entry uri="${uri}"><display-name>W${worker} #${i % 2}</display-name></entry>`);
    },
  },
];

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Measured {
  latencies: number[];
  requests: number;
  errors: number;
  seconds: number;
}

/** Run `op` against `target` for `seconds` (after the warm-up). */
async function runOp(target: Target, op: Op, concurrency: number, seconds: number): Promise<Measured> {
  const clients = Array.from(
    { length: concurrency },
    () =>
      new XcapClient({
        root: target.root,
        xui: `sip:${target.user}@${target.domain}`,
        auth: { username: target.user, ha1: target.ha1 },
        wildcard: target.wildcard,
        timeoutMs: 10_000,
      }),
  );
  // prime each client's digest session (one 401 each) outside the measurement
  await Promise.all(clients.map((c) => c.getDocument("resource-lists", "index")));
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const end = measureFrom + seconds * 1000;
  let measuredRequests = 0;
  await Promise.all(
    clients.map(async (c, w) => {
      for (let i = 0; performance.now() < end; i++) {
        const t0 = performance.now();
        try {
          await op.run(c, w, i);
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message;
        }
        const t1 = performance.now();
        // throughput = completions inside the window (a condition on the start as well would drop
        // the requests straddling its edges, about concurrency × latency of them: a bias against
        // the slower target that grows as windows get shorter)
        if (t1 >= measureFrom && t1 <= end) {
          latencies.push(t1 - t0);
          measuredRequests++;
        }
      }
    }),
  );
  if (firstError) line({ bench: "xcap-error", target: target.name, op: op.name, concurrency, errors, firstError });
  return { latencies, requests: measuredRequests, errors, seconds };
}

function summarize(parts: Measured[]): { rps: number; p50: number; p99: number; requests: number; errors: number } {
  const latencies = parts.flatMap((p) => p.latencies).sort((a, b) => a - b);
  const requests = parts.reduce((n, p) => n + p.requests, 0);
  const seconds = parts.reduce((n, p) => n + p.seconds, 0);
  return {
    rps: Math.round(requests / seconds),
    p50: +percentile(latencies, 50).toFixed(2),
    p99: +percentile(latencies, 99).toFixed(2),
    requests,
    errors: parts.reduce((n, p) => n + p.errors, 0),
  };
}

async function prepare(target: Target): Promise<void> {
  const c = new XcapClient({ root: target.root, xui: `sip:${target.user}@${target.domain}`, auth: { username: target.user, ha1: target.ha1 }, wildcard: target.wildcard });
  const xml = resourceListsXml({ [LIST]: contacts });
  await c.putDocument("resource-lists", "index", xml);
  const back = await c.getDocument("resource-lists", "index");
  if (!back || !back.xml.includes(probe)) throw new Error(`${target.name}: the ${CONTACTS}-contact document did not round-trip`);
  line({ bench: "xcap-setup", target: target.name, root: target.root, documentBytes: Buffer.byteLength(xml), contacts: CONTACTS });
}

async function startHeraldChild(name = "./xcap-herald-server.ts", extraArgs: string[] = []): Promise<{ root: string; child: ChildProcess }> {
  const script = fileURLToPath(new URL(name, import.meta.url));
  const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));
  const child = spawn(tsx, [script, "--domain", DOMAIN, "--user", `${USER}:${PASSWORD}`, ...extraArgs], { stdio: ["ignore", "pipe", "inherit"] });
  const rl = createInterface({ input: child.stdout! });
  const root = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("Herald XCAP child did not start within 30 s")), 30_000);
    rl.once("line", (l) => {
      clearTimeout(t);
      const ready = JSON.parse(l) as { xcapRoot: string; sqliteSynchronous?: string };
      if (ready.sqliteSynchronous) line({ bench: "xcap-portal", sqliteSynchronous: ready.sqliteSynchronous });
      resolve(ready.xcapRoot);
    });
    child.once("exit", (code) => reject(new Error(`Herald XCAP child exited (${code})`)));
  });
  return { root, child };
}

async function main(): Promise<void> {
  line({ bench: "xcap", node: process.version, cpus: cpus().length, seconds: SECONDS, rounds: ROUNDS, concurrency: CONCURRENCY, contacts: CONTACTS });
  const targets: Target[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const herald = await startHeraldChild();
    cleanups.push(async () => {
      const exited = new Promise<void>((r) => herald.child.once("exit", () => r()));
      herald.child.kill("SIGTERM");
      await exited;
    });
    targets.push({ name: "herald", root: herald.root, user: USER, domain: DOMAIN, ha1: digestHa1(USER, DOMAIN, PASSWORD), wildcard: "*" });

    if (flag("portal")) {
      const portal = await startHeraldChild("./xcap-portal-server.ts", ["--sqlite-synchronous", opt("portal-sqlite-synchronous") ?? "off"]);
      cleanups.push(async () => {
        const exited = new Promise<void>((r) => portal.child.once("exit", () => r()));
        portal.child.kill("SIGTERM");
        await exited;
      });
      targets.push({ name: "portal-prisma", root: portal.root, user: USER, domain: DOMAIN, ha1: digestHa1(USER, DOMAIN, PASSWORD), wildcard: "*" });
    }

    const url = opt("url");
    if (url) {
      const user = opt("user") ?? USER;
      const password = opt("password");
      const ha1 = opt("ha1") ?? (password !== undefined ? digestHa1(user, DOMAIN, password) : undefined);
      if (!ha1) throw new Error("--url needs --password or --ha1");
      targets.push({ name: opt("url-name") ?? "url", root: url, user, domain: DOMAIN, ha1, wildcard: flag("quoted-wildcard") ? '"*"' : "*" });
    }

    let kamailio: KamailioServer | undefined;
    if (!flag("no-kamailio")) {
      if (!kamailioAvailable()) line({ bench: "xcap-skip", target: "kamailio", reason: "Kamailio or its modules not installed" });
      else {
        const children = Number(opt("kamailio-children") ?? 4);
        kamailio = await startKamailio({ domain: DOMAIN, users: [{ user: USER, password: PASSWORD }], children, authephSecret: false });
        cleanups.push(() => kamailio!.stop());
        line({ bench: "xcap-kamailio", children, note: "auth_db reads the subscriber table (PostgreSQL) per request" });
        targets.push({ name: "kamailio", root: kamailio.xcapRoot, user: USER, domain: DOMAIN, ha1: kamailio.ha1(USER), wildcard: '"*"' });
      }
    }

    for (const t of targets) await prepare(t);
    const results = new Map<string, number>();
    for (const op of OPS.filter((o) => !OP_NAMES || OP_NAMES.includes(o.name))) {
      for (const concurrency of CONCURRENCY) {
        const parts = new Map<string, Measured[]>(targets.map((t) => [t.name, []]));
        for (let round = 0; round < ROUNDS; round++) {
          for (let j = 0; j < targets.length; j++) {
            const t = targets[(j + round) % targets.length]!;
            parts.get(t.name)!.push(await runOp(t, op, concurrency, SECONDS / ROUNDS));
          }
        }
        for (const t of targets) {
          const r = summarize(parts.get(t.name)!);
          results.set(`${t.name}|${op.name}|${concurrency}`, r.rps);
          line({ bench: "xcap", target: t.name, op: op.name, concurrency, rps: r.rps, p50Ms: r.p50, p99Ms: r.p99, requests: r.requests, errors: r.errors });
        }
        const k = results.get(`kamailio|${op.name}|${concurrency}`);
        if (k) {
          for (const t of targets) {
            if (t.name === "kamailio") continue;
            const h = results.get(`${t.name}|${op.name}|${concurrency}`)!;
            line({ bench: "xcap-ratio", target: t.name, vs: "kamailio", op: op.name, concurrency, ratio: +(h / k).toFixed(2) });
          }
        }
      }
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => line({ bench: "xcap-cleanup-error", error: String(e) }));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
