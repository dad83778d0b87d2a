/**
 * The one limiter of password guesses for every door: portal login, XCAP digest and SIP digest.
 *
 * - Counted before the check: `attempt()` reserves a slot synchronously, before the caller awaits
 *   the password check, so concurrent guesses cannot all slip in under the limit; the caller then
 *   settles the slot once: `succeeded()`, `failed()` (a wrong password or unknown account), or
 *   `released()` (not a guess: stale nonce, replay, malformed header).
 * - Three keys per attempt: (account, client address), client address, account. Each key allows
 *   its number of failures freely; after that, each further attempt must wait 2^k seconds (k =
 *   failures beyond the allowance), capped, one attempt at a time: a growing back-off, never a
 *   hard lock-out. The owner from another address is refused only when the account key itself
 *   has used up its (larger) allowance, i.e. under attack from many addresses.
 * - A success clears the (account, address) key only: it cannot reset an address's or an
 *   account's count (an attacker with an account of their own behind the same address, or an
 *   owner signing in during an attack, would otherwise buy the attacker a fresh allowance). It
 *   also marks that key proven until its next failure: a proven client may have up to
 *   `perAddress` attempts in flight at once (an XCAP client fetches several documents together)
 *   and is not held back by failures of others behind the same address (an office NAT); the
 *   account key still counts. Someone else behind that address can use this for at most that many
 *   guesses at that account, started together, before its first failure ends it.
 * - A key's failures are forgotten `windowSeconds` after its last failure (and not before its
 *   back-off ends). IPv6 client addresses count per /64, what one host is typically given.
 *
 * Framework-free; the process shares one instance between the doors (`sharedAuthLimiter`).
 */
import { isIPv6 } from "node:net";
import { processWide } from "../process-wide";

export interface AuthLimiterOptions {
  /** Failures allowed per (account, client address) before back-off. Default 5. */
  perAccountAddress?: number;
  /** Failures allowed per client address (all accounts) before back-off. Default 20. */
  perAddress?: number;
  /** Failures allowed per account (all addresses) before back-off. Default 50. */
  perAccount?: number;
  /** Longest back-off wait, seconds. Default 900. */
  maxBackoffSeconds?: number;
  /** A key's failures are forgotten this long after its last failure, seconds. Default 3600. */
  windowSeconds?: number;
  /** Most keys tracked; beyond, the least recently used idle keys are dropped. Default 100,000. */
  maxKeys?: number;
  /** ms clock (tests). Default Date.now. */
  now?: () => number;
}

export const AUTH_LIMITER_DEFAULTS = {
  perAccountAddress: 5,
  perAddress: 20,
  perAccount: 50,
  maxBackoffSeconds: 900,
  windowSeconds: 3600,
  maxKeys: 100_000,
} as const;

/** Which key refused an attempt. */
export type AuthLimitScope = "account-address" | "address" | "account";

/** A reserved attempt: settle it exactly once (later calls are ignored). */
export interface AuthAttemptSlot {
  allowed: true;
  /** The credentials were right. */
  succeeded(): void;
  /** A guess that failed: wrong password or unknown account. */
  failed(): void;
  /** Not a guess (stale nonce, replay, malformed credentials, an error): count nothing. */
  released(): void;
}

export interface AuthAttemptRefused {
  allowed: false;
  /** Whole seconds until this key accepts an attempt again (at least 1). */
  retryAfterSeconds: number;
  scope: AuthLimitScope;
}

export type AuthAttempt = AuthAttemptSlot | AuthAttemptRefused;

interface KeyState {
  failures: number;
  inFlight: number;
  /** Time of the last failure (or, for a proven key, success): the window runs from here. */
  lastFailure: number;
  /** The last settled attempt succeeded ((account, address) keys only). */
  proven: boolean;
  /** No attempt before this time (ms). */
  notBefore: number;
}

export class AuthLimiter {
  private readonly keys = new Map<string, KeyState>();
  private readonly o: Required<Omit<AuthLimiterOptions, "now">>;
  private readonly now: () => number;

  constructor(options: AuthLimiterOptions = {}) {
    const { now, ...rest } = options;
    this.o = { ...AUTH_LIMITER_DEFAULTS, ...stripUndefined(rest) };
    this.now = now ?? Date.now;
  }

  /**
   * Reserve an attempt for `account` (e.g. `alice@example.test`, lower-cased here) from client
   * `address`, or say how long to wait. Synchronous: call it before awaiting the check.
   */
  attempt(who: { account: string; address: string }): AuthAttempt {
    const now = this.now();
    const account = who.account.toLowerCase();
    const address = addressKey(who.address);
    const pairKey = `p\u0000${account}\u0000${address}`;
    const checks: Array<[string, number, AuthLimitScope]> = [
      [pairKey, this.o.perAccountAddress, "account-address"],
      [`a\u0000${account}`, this.o.perAccount, "account"],
    ];
    if (!this.live(pairKey, now)?.proven) checks.push([`i\u0000${address}`, this.o.perAddress, "address"]);
    let refused: AuthAttemptRefused | undefined;
    for (const [key, allowance, scope] of checks) {
      const s = this.live(key, now);
      if (!s) continue;
      const wait = this.waitMs(s, allowance, now);
      if (wait > 0) {
        const retryAfterSeconds = Math.max(1, Math.ceil(wait / 1000));
        if (!refused || retryAfterSeconds > refused.retryAfterSeconds) refused = { allowed: false, retryAfterSeconds, scope };
      }
    }
    if (refused) return refused;
    const states = checks.map(([key]) => this.reserve(key, now));
    let settled = false;
    const settle = (outcome: "success" | "failure" | "release") => {
      if (settled) return;
      settled = true;
      const t = this.now();
      states.forEach((s, i) => {
        s.inFlight = Math.max(0, s.inFlight - 1);
        if (outcome === "failure") {
          s.failures++;
          s.lastFailure = t;
          s.proven = false;
          const allowance = checks[i][1];
          if (s.failures >= allowance) s.notBefore = t + this.backoffMs(s.failures - allowance);
        }
      });
      if (outcome === "success") {
        const pair = states[0];
        pair.failures = 0;
        pair.notBefore = 0;
        pair.proven = true;
        pair.lastFailure = t;
      }
      // keys with nothing to remember are not kept (every successful request would leave two)
      states.forEach((s, i) => {
        if (s.failures === 0 && s.inFlight === 0 && !s.proven && this.keys.get(checks[i][0]) === s) this.keys.delete(checks[i][0]);
      });
    };
    return { allowed: true, succeeded: () => settle("success"), failed: () => settle("failure"), released: () => settle("release") };
  }

  /** Tracked keys (tests, diagnostics). */
  get size(): number {
    return this.keys.size;
  }

  /** 2^k seconds, capped. */
  private backoffMs(k: number): number {
    return Math.min(this.o.maxBackoffSeconds, 2 ** Math.min(k, 30)) * 1000;
  }

  /** How long `s` makes the next attempt wait (0: go ahead). */
  private waitMs(s: KeyState, allowance: number, now: number): number {
    if (s.notBefore > now) return s.notBefore - now;
    if (s.proven) return s.inFlight < this.o.perAddress ? 0 : 1000;
    if (s.failures + s.inFlight < allowance) return 0;
    // allowance used up (counting attempts in flight): one attempt at a time, each after its wait
    if (s.inFlight === 0) return 0;
    return s.failures >= allowance ? this.backoffMs(s.failures - allowance) : 1000;
  }

  /** The key's state, dropped (undefined) once forgotten. */
  private live(key: string, now: number): KeyState | undefined {
    const s = this.keys.get(key);
    if (!s) return undefined;
    if (s.inFlight === 0 && s.notBefore <= now && now - s.lastFailure > this.o.windowSeconds * 1000) {
      this.keys.delete(key);
      return undefined;
    }
    return s;
  }

  private reserve(key: string, now: number): KeyState {
    let s = this.live(key, now);
    if (s) this.keys.delete(key); // re-inserted below: the map's order is least recently used first
    else {
      if (this.keys.size >= this.o.maxKeys) this.prune(now);
      s = { failures: 0, inFlight: 0, lastFailure: now, notBefore: 0, proven: false };
    }
    s.inFlight++;
    this.keys.set(key, s);
    return s;
  }

  private prune(now: number): void {
    for (const k of [...this.keys.keys()]) this.live(k, now);
    // still full: drop the least recently used keys without an attempt in flight
    let excess = this.keys.size - Math.floor(this.o.maxKeys * 0.9);
    for (const [k, s] of this.keys) {
      if (excess <= 0) break;
      if (s.inFlight > 0) continue;
      this.keys.delete(k);
      excess--;
    }
  }
}

/** The client address as a key: IPv6 per /64 (one host's typical allocation), IPv4 as is. */
export function addressKey(address: string): string {
  const a = address.replace(/%.*$/, "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
  if (!isIPv6(a)) return a;
  const [head, tail] = a.split("::") as [string, string | undefined];
  const groups = (s: string) => (s ? s.split(":") : []);
  const width = (g: string[]) => g.reduce((n, x) => n + (x.includes(".") ? 2 : 1), 0); // embedded IPv4: two groups
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - width(h) - width(t))).fill("0"), ...t];
  return all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(":") + "::/64";
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The process's one limiter (portal login, XCAP and SIP share it: the Next.js bundle and the
 * custom server load separate copies of this module, so it lives on globalThis).
 */
export function sharedAuthLimiter(options: AuthLimiterOptions): AuthLimiter {
  return processWide("__heraldAuthLimiter", () => new AuthLimiter(options));
}

/** The limiter's options from the configuration's AUTH_* variables. */
export function authLimiterOptions(c: {
  AUTH_FAILURES_PER_ACCOUNT_ADDRESS: number;
  AUTH_FAILURES_PER_ADDRESS: number;
  AUTH_FAILURES_PER_ACCOUNT: number;
  AUTH_BACKOFF_MAX_SECONDS: number;
  AUTH_FAILURE_WINDOW_SECONDS: number;
}): AuthLimiterOptions {
  return {
    perAccountAddress: c.AUTH_FAILURES_PER_ACCOUNT_ADDRESS,
    perAddress: c.AUTH_FAILURES_PER_ADDRESS,
    perAccount: c.AUTH_FAILURES_PER_ACCOUNT,
    maxBackoffSeconds: c.AUTH_BACKOFF_MAX_SECONDS,
    windowSeconds: c.AUTH_FAILURE_WINDOW_SECONDS,
  };
}
