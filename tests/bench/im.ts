/**
 * Instant-message benchmark (issue 17): `herald start` (SQLite, its MESSAGE handler with history
 * and offline queue) and Kamailio relaying MESSAGE to registered contacts with msilo storing for
 * offline users (PostgreSQL), in the same run, over real TCP with digest. JSON lines, no assertions:
 *   npm run bench -- im [--no-kamailio] [--burst=1000] [--pairs=100] [--per-pair=10] [--offline=100] [--cpu-prof=DIR]
 *
 * Measures, each against Herald then Kamailio:
 *   burst    one sender sends --burst MESSAGEs back to back to one registered recipient, --window
 *            (4) in flight on one connection; messages/s from the first send to the last arrival,
 *            latency send → arrival at the recipient (p50/p99), order kept at the recipient
 *   pairs    --pairs sender/recipient pairs in parallel, each sending --per-pair MESSAGEs one
 *            after another (the next when the previous is answered), as chat clients do
 *   offline  --offline MESSAGEs to a recipient with no registration (stored: Herald's queue,
 *            msilo), then it registers: seconds until all have arrived, order kept
 * `orderKept`: the recipient got every message of a sender in the order they were sent.
 */
import { flagArg, numberArg, stringArg } from "./args";
import { cpus } from "node:os";
import { addAccount, addDomain } from "../../lib/accounts/service";
import { startHerald } from "../helpers/herald-process";
import { kamailioAvailable, kamailioBenchTarget, startKamailio } from "../helpers/kamailio";
import type { SipRequest } from "../../lib/sip";
import type { SipTestClient } from "../helpers/sip-client";
import { connectUser, type BenchTarget } from "./presence-load";

const num = numberArg;
const DOMAIN = "example.test";
const PASSWORD = "Bench-im-password1";
const BURST = num("burst", 1000);
const PAIRS = num("pairs", 100);
const PER_PAIR = num("per-pair", 10);
const OFFLINE = num("offline", 100);
/**
 * MESSAGEs of the burst in flight at once. Herald's one password limiter (portal, XCAP, SIP) counts
 * a digest attempt from its arrival, so more than 5 concurrent attempts of one account from one
 * address are answered 503 by design (README "Password guesses"); the burst stays under that.
 */
const WINDOW = num("window", 4);
const USERS = 2 + 2 * PAIRS + 2;

const line = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + "\n");
const pct = (sorted: number[], p: number) => (sorted.length ? +sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)].toFixed(2) : null);
const aor = (t: BenchTarget, i: number) => `sip:${t.account(i).user}@${t.domain}`;

/** A registered recipient recording, per sender, the sequence numbers and arrival times it got. */
async function recipient(t: BenchTarget, i: number, register = true) {
  const got = new Map<string, number[]>();
  const latencies: number[] = [];
  let last = 0;
  const onRequest = (r: SipRequest) => {
    if (r.method !== "MESSAGE") return;
    const [seq, sentAt] = r.body.toString().split(":").map(Number);
    const from = r.from.uri.toString();
    got.set(from, [...(got.get(from) ?? []), seq]);
    last = performance.now();
    if (sentAt) latencies.push(last - sentAt);
  };
  const c = await connectUser(t, i, { onRequest });
  if (register) await c.register(600);
  const count = () => [...got.values()].reduce((n, s) => n + s.length, 0);
  const ordered = () => [...got.values()].every((s) => s.every((v, k) => k === 0 || v > s[k - 1]));
  return { c, got, latencies, count, ordered, lastAt: () => last };
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

async function burst(t: BenchTarget) {
  const rx = await recipient(t, 1);
  const tx = await connectUser(t, 0);
  try {
    await tx.message(aor(t, 1), "0:0"); // warm-up: digest challenge, not counted
    await until(() => rx.count() === 1, 5000);
    rx.got.clear();
    rx.latencies.length = 0;
    const t0 = performance.now();
    const answers: number[] = [];
    let next = 1;
    await Promise.all(
      Array.from({ length: WINDOW }, async () => {
        while (next <= BURST) {
          const k = next++;
          answers.push(await tx.message(aor(t, 1), `${k}:${performance.now()}`).then((r) => r.status, () => 0));
        }
      }),
    );
    await until(() => rx.count() >= BURST, 30_000);
    const seconds = ((rx.lastAt() || performance.now()) - t0) / 1000;
    rx.latencies.sort((a, b) => a - b);
    const statuses: Record<number, number> = {};
    for (const s of answers) statuses[s] = (statuses[s] ?? 0) + 1;
    return { messages: BURST, statuses, received: rx.count(), seconds: +seconds.toFixed(3), perSecond: Math.round(rx.count() / seconds), p50Ms: pct(rx.latencies, 50), p99Ms: pct(rx.latencies, 99), orderKept: rx.ordered() };
  } finally {
    await Promise.all([tx.close(), rx.c.close()].map((p) => p.catch(() => undefined)));
  }
}

async function pairs(t: BenchTarget) {
  const base = 2;
  const rxs = await Promise.all(Array.from({ length: PAIRS }, (_, p) => recipient(t, base + PAIRS + p)));
  const txs: SipTestClient[] = await Promise.all(Array.from({ length: PAIRS }, (_, p) => connectUser(t, base + p)));
  try {
    await Promise.all(txs.map((c, p) => c.message(aor(t, base + PAIRS + p), "0:0"))); // warm-up
    await until(() => rxs.every((r) => r.count() === 1), 10_000);
    for (const r of rxs) {
      r.got.clear();
      r.latencies.length = 0;
    }
    let failures = 0;
    const t0 = performance.now();
    await Promise.all(
      txs.map(async (c, p) => {
        for (let k = 1; k <= PER_PAIR; k++) {
          const s = await c.message(aor(t, base + PAIRS + p), `${k}:${performance.now()}`).then((r) => r.status, () => 0);
          if (s < 200 || s >= 300) failures++;
        }
      }),
    );
    const total = PAIRS * PER_PAIR;
    await until(() => rxs.reduce((n, r) => n + r.count(), 0) >= total, 30_000);
    const seconds = (Math.max(...rxs.map((r) => r.lastAt())) - t0) / 1000;
    const lat = rxs.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const received = rxs.reduce((n, r) => n + r.count(), 0);
    return { pairs: PAIRS, messages: total, failures, received, seconds: +seconds.toFixed(3), perSecond: Math.round(received / seconds), p50Ms: pct(lat, 50), p99Ms: pct(lat, 99), orderKept: rxs.every((r) => r.ordered()) };
  } finally {
    await Promise.all([...txs.map((c) => c.close()), ...rxs.map((r) => r.c.close())].map((p) => p.catch(() => undefined)));
  }
}

async function offline(t: BenchTarget) {
  const sender = 2 + 2 * PAIRS;
  const tx = await connectUser(t, sender);
  const rx = await recipient(t, sender + 1, false);
  try {
    const statuses = new Map<number, number>();
    const t0 = performance.now();
    for (let k = 1; k <= OFFLINE; k++) {
      const s = await tx.message(aor(t, sender + 1), `${k}:0`).then((r) => r.status, () => 0);
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    const storeSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await rx.c.register(600);
    await until(() => rx.count() >= OFFLINE, 30_000);
    const deliverSeconds = ((rx.lastAt() || performance.now()) - t1) / 1000;
    return { messages: OFFLINE, statuses: Object.fromEntries(statuses), storedPerSecond: Math.round(OFFLINE / storeSeconds), received: rx.count(), deliverSeconds: +deliverSeconds.toFixed(3), orderKept: rx.ordered() };
  } finally {
    await Promise.all([tx.close(), rx.c.close()].map((p) => p.catch(() => undefined)));
  }
}

async function main() {
  line({ bench: "im", node: process.version, cpus: cpus().length, burst: BURST, window: WINDOW, pairs: PAIRS, perPair: PER_PAIR, offline: OFFLINE });
  const targets: Array<{ t: BenchTarget; stop: () => Promise<void> }> = [];
  try {
    const prof = stringArg("cpu-prof");
    const herald = await startHerald({
      nodeArgs: prof ? ["--cpu-prof", "--cpu-prof-dir", prof] : [],
      env: { SIP_MAX_CONNECTIONS_PER_ADDRESS: "0", IM_OFFLINE_MAX_PER_USER: String(Math.max(100, OFFLINE)) },
      seed: async (db) => {
        await addDomain(db, DOMAIN);
        for (let i = 0; i < USERS; i++) await addAccount(db, { address: `u${i}@${DOMAIN}`, password: PASSWORD });
      },
    });
    const account = (i: number) => ({ user: `u${i}`, password: PASSWORD });
    targets.push({ t: { name: "herald start (sqlite)", host: "127.0.0.1", port: herald.sipPort, domain: DOMAIN, account, allowAll: async () => {} }, stop: () => herald.stop() });
    if (flagArg("no-kamailio")) line({ bench: "im-skip", target: "kamailio", reason: "--no-kamailio" });
    else if (!kamailioAvailable()) line({ bench: "im-skip", target: "kamailio", reason: "Kamailio not installed" });
    else {
      const k = await startKamailio({ domain: DOMAIN, authephSecret: false, msilo: true });
      targets.push({ t: { ...(await kamailioBenchTarget(k, { count: USERS, password: PASSWORD })), name: "kamailio + msilo" }, stop: () => k.stop() });
    }
    for (const [name, fn] of [["burst", burst], ["pairs", pairs], ["offline", offline]] as const) {
      for (const { t } of targets) line({ target: t.name, bench: `im-${name}`, ...(await fn(t)) });
    }
  } finally {
    for (const x of targets.reverse()) await x.stop().catch((e: unknown) => line({ bench: "im-cleanup-error", error: String(e) }));
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e) + "\n");
    process.exit(1);
  },
);
