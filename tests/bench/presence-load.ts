/**
 * Load functions for the presence benchmark, independent of the server under test: they take a
 * `BenchTarget` (host:port, domain, digest credentials, and a hook that lets every watcher see
 * every presentity), so the same load runs against Herald's embedded server and Kamailio
 * (tests/interop harness). Every function prints nothing; it returns figures.
 */
import { SipTestClient, pidf } from "../helpers/sip-client";

export interface BenchTarget {
  name: string;
  host: string;
  port: number;
  domain: string;
  /** Digest credentials of bench user `i` (user name and password). */
  account(i: number): { user: string; password: string };
  /** Make every watcher allowed to see every presentity (pres-rules). */
  allowAll(presentities: string[], watchers: string[]): Promise<void>;
}

export async function connectUser(t: BenchTarget, i: number, extra: { onRequest?: SipTestClient["o"]["onRequest"]; keepReceived?: boolean } = {}): Promise<SipTestClient> {
  const a = t.account(i);
  const c = await SipTestClient.connect({ host: t.host, port: t.port, user: a.user, domain: t.domain, password: a.password, preemptiveAuth: true, keepReceived: extra.keepReceived ?? false, onRequest: extra.onRequest, timeoutMs: 30_000 });
  // Nagle off, as a SIP UA's own stack does: with it on, a small write that follows an unacknowledged
  // one (the 200 to a NOTIFY, then the next SUBSCRIBE) waits for the peer's delayed ACK (~40 ms on
  // Linux), and the rates measure that stall instead of the server
  c.socket.setNoDelay(true);
  return c;
}

const aor = (t: BenchTarget, i: number) => `sip:${t.account(i).user}@${t.domain}`;

async function pool<T>(items: T[], concurrency: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** PUBLISH modifications per second: `clients` publishers on their own connections, `count` in total. */
export async function publishRate(t: BenchTarget, o: { clients: number; count: number; firstUser?: number }): Promise<{ publishes: number; seconds: number; perSecond: number; failures: number }> {
  const base = o.firstUser ?? 0;
  const clients = await Promise.all(Array.from({ length: o.clients }, (_, i) => connectUser(t, base + i)));
  const etags: (string | undefined)[] = [];
  // warm up: the initial PUBLISH (and the digest challenge) is not counted
  await Promise.all(clients.map(async (c, i) => (etags[i] = (await c.publish(pidf(c.aor, "open", "warm-up"))).getHeader("SIP-ETag"))));
  let failures = 0;
  const per = Math.ceil(o.count / o.clients);
  const start = performance.now();
  await Promise.all(
    clients.map(async (c, i) => {
      for (let k = 0; k < per; k++) {
        const r = await c.publish(pidf(c.aor, k % 2 ? "open" : "closed", `n${k}`), { etag: etags[i] });
        if (r.status !== 200) failures++;
        else etags[i] = r.getHeader("SIP-ETag");
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(clients.map(async (c, i) => c.publish(undefined, { etag: etags[i], expires: 0 })));
  await Promise.all(clients.map((c) => c.close()));
  return { publishes: per * o.clients, seconds, perSecond: (per * o.clients) / seconds, failures };
}

/** SUBSCRIBE → 200 → first NOTIFY setups per second over TCP (`concurrency` in flight). */
export async function subscribeSetups(t: BenchTarget, o: { count: number; concurrency: number; watchers: number; presentity: number; firstWatcher: number }): Promise<{ setups: number; seconds: number; perSecond: number; failures: number }> {
  const waiting = new Map<string, () => void>();
  const clients = await Promise.all(
    Array.from({ length: o.watchers }, (_, i) =>
      connectUser(t, o.firstWatcher + i, {
        onRequest: (r) => {
          if (r.method !== "NOTIFY") return;
          const w = waiting.get(r.callId);
          if (w) {
            waiting.delete(r.callId);
            w();
          }
        },
      }),
    ),
  );
  await t.allowAll([aor(t, o.presentity)], clients.map((_, i) => aor(t, o.firstWatcher + i)));
  await clients[0].subscribe(aor(t, o.presentity), { expires: 600 }); // prime the challenge for each client
  await Promise.all(clients.slice(1).map((c) => c.subscribe(aor(t, o.presentity), { expires: 600 })));
  let failures = 0;
  const jobs = Array.from({ length: o.count }, (_, k) => k);
  const start = performance.now();
  await pool(jobs, o.concurrency, async (k) => {
    const c = clients[k % clients.length];
    const req = c.build("SUBSCRIBE", aor(t, o.presentity), { headers: [["Event", "presence"], ["Expires", "600"]] });
    const notified = new Promise<void>((resolve) => waiting.set(req.callId, resolve));
    const r = await c.requestWithAuth((bump) => (bump === 0 ? req : c.build("SUBSCRIBE", aor(t, o.presentity), { callId: req.callId, headers: [["Event", "presence"], ["Expires", "600"]] })));
    if (r.status !== 200) {
      failures++;
      waiting.delete(req.callId);
      return;
    }
    await notified;
  });
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(clients.map((c) => c.close()));
  return { setups: o.count, seconds, perSecond: o.count / seconds, failures };
}

/**
 * Fan-out: P presentities × W watchers (every watcher subscribes to every presentity), then
 * `rounds` rounds in which every presentity publishes a modification, at most `ratePerSecond`
 * PUBLISHes per second overall. NOTIFYs delivered per second and PUBLISH→NOTIFY latency, until
 * every watcher has the last round's state of every presentity (intermediate states may be
 * coalesced by the server; `notifiesDelivered` < `notifiesExpected` then).
 */
export async function fanout(
  t: BenchTarget,
  o: { presentities: number; watchers: number; rounds: number; ratePerSecond: number; firstUser: number; /** end the subscriptions (Expires: 0) before closing */ unsubscribe?: boolean },
): Promise<Record<string, number>> {
  const latencies: number[] = [];
  const sentAt = new Map<string, number>();
  let delivered = 0;
  /** (watcher, presentity) pairs that saw the last round's state */
  let finals = 0;
  const lastRound = `-${o.rounds - 1}`;
  const MARK_RE = /mark-(\d+-\d+)/;
  const watchers = await Promise.all(
    Array.from({ length: o.watchers }, (_, i) =>
      connectUser(t, o.firstUser + o.presentities + i, {
        onRequest: (r) => {
          if (r.method !== "NOTIFY") return;
          const m = MARK_RE.exec(r.bodyText);
          if (!m) return;
          const s = sentAt.get(m[1]);
          if (s !== undefined) {
            delivered++;
            latencies.push(performance.now() - s);
            if (m[1].endsWith(lastRound)) finals++;
          }
        },
      }),
    ),
  );
  const publishers = await Promise.all(Array.from({ length: o.presentities }, (_, i) => connectUser(t, o.firstUser + i)));
  await t.allowAll(publishers.map((p) => p.aor), watchers.map((w) => w.aor));
  const etags: (string | undefined)[] = await Promise.all(publishers.map(async (p) => (await p.publish(pidf(p.aor, "open", "start"))).getHeader("SIP-ETag")));
  let subscribeFailures = 0;
  let publishFailures = 0;
  const held: Array<{ w: SipTestClient; sub: NonNullable<Awaited<ReturnType<SipTestClient["subscribe"]>>["sub"]> }> = [];
  await pool(watchers, 50, async (w) => {
    for (const p of publishers) {
      const r = await w.subscribe(p.aor, { expires: 600 });
      if (r.response.status >= 300) subscribeFailures++;
      else if (r.sub) held.push({ w, sub: r.sub });
    }
  });
  const subscriptions = o.presentities * o.watchers;
  const expected = subscriptions * o.rounds;
  const interval = 1000 / o.ratePerSecond;
  const start = performance.now();
  let n = 0;
  for (let r = 0; r < o.rounds; r++) {
    await Promise.all(
      publishers.map(async (p, i) => {
        const due = start + n++ * interval;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((res) => setTimeout(res, wait));
        const key = `${i}-${r}`;
        sentAt.set(key, performance.now());
        const res = await p.publish(pidf(p.aor, r % 2 ? "open" : "closed", `mark-${key}`), { etag: etags[i] });
        if (res.status !== 200) publishFailures++;
        else etags[i] = res.getHeader("SIP-ETag");
      }),
    );
  }
  const deadline = Date.now() + 60_000;
  // done when every watcher has the final state of every presentity: a server may coalesce
  // intermediate states it could not send in time (RFC 3856 §6.10), never the final one
  while (delivered < expected && finals < subscriptions && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  if (o.unsubscribe) await pool(held, 50, async ({ w, sub }) => void (await w.resubscribe(sub, 0).catch(() => undefined)));
  await Promise.all([...watchers, ...publishers].map((c) => c.close()));
  return {
    presentities: o.presentities,
    watchers: o.watchers,
    subscriptions,
    publishes: o.presentities * o.rounds,
    notifiesExpected: expected,
    notifiesDelivered: delivered,
    finalStatesDelivered: finals,
    subscribeFailures,
    publishFailures,
    seconds,
    notifiesPerSecond: delivered / seconds,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
  };
}

/** Open `count` subscriptions (held) from `watchers` connections to `presentities` presentities. */
export async function holdSubscriptions(t: BenchTarget, o: { count: number; watchers: number; presentities: number; firstUser: number }): Promise<SipTestClient[]> {
  const watchers = await Promise.all(Array.from({ length: o.watchers }, (_, i) => connectUser(t, o.firstUser + o.presentities + i)));
  const presentities = Array.from({ length: o.presentities }, (_, i) => aor(t, o.firstUser + i));
  await t.allowAll(presentities, watchers.map((w) => w.aor));
  const jobs = Array.from({ length: o.count }, (_, k) => k);
  await pool(jobs, 100, async (k) => {
    const w = watchers[k % watchers.length];
    const r = await w.subscribe(presentities[Math.floor(k / watchers.length) % presentities.length], { expires: 3600 });
    if (r.response.status !== 200) throw new Error(`SUBSCRIBE failed: ${r.response.status}`);
  });
  return watchers;
}
