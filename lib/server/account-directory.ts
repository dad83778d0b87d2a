/**
 * Which domains the presence server serves and the accounts it authenticates. The server only
 * talks to this interface; `PrismaAccountDirectory` reads the Domain/Account tables,
 * `MemoryAccountDirectory` serves tests and benchmarks.
 */
import { computeHa1, type DigestAlgorithm } from "../sip";
import type { Db } from "../db";
import type { CredentialsCache } from "../accounts/digest-lookup";
import { canonicalAor, splitAor } from "./aor";

export interface ServedDomain {
  /** Domain name, lower-case (the host part of AORs). */
  name: string;
  /** Digest realm for this domain. */
  realm: string;
}

export type AccountStatus = "active" | "disabled" | "unknown";

export interface AccountDirectory {
  /** Enabled domains served by this server. */
  listDomains(): Promise<ServedDomain[]>;
  /** Stored HA1 (hex) of user@domain for the algorithm; undefined when unknown or disabled. */
  lookupHa1(user: string, domain: string, algorithm: DigestAlgorithm): Promise<string | undefined>;
  accountStatus(user: string, domain: string): Promise<AccountStatus>;
  /**
   * Whether user@domain is a virtual presentity: an address with presence but no account, set by
   * operators (lib/accounts/virtual-presentities.ts). Absent: the directory has none.
   */
  isVirtualPresentity?(user: string, domain: string): Promise<boolean>;
}

/** In-memory directory: `addDomain`, then `addAccount` with a clear-text password. */
export class MemoryAccountDirectory implements AccountDirectory {
  private readonly domains = new Map<string, ServedDomain>();
  /** HA1 per realm and algorithm is derived once per account (a hash per authentication otherwise). */
  private readonly accounts = new Map<string, { password: string; disabled: boolean; ha1?: Map<string, string> }>();
  private readonly virtual = new Set<string>();

  addDomain(name: string, realm = name): this {
    this.domains.set(name.toLowerCase(), { name: name.toLowerCase(), realm });
    return this;
  }

  addAccount(user: string, domain: string, password: string, options: { disabled?: boolean } = {}): this {
    this.accounts.set(`${user}@${domain.toLowerCase()}`, { password, disabled: options.disabled ?? false });
    return this;
  }

  addVirtualPresentity(user: string, domain: string): this {
    this.virtual.add(`${user}@${domain}`.toLowerCase());
    return this;
  }

  setDisabled(user: string, domain: string, disabled: boolean): void {
    const a = this.accounts.get(`${user}@${domain.toLowerCase()}`);
    if (a) a.disabled = disabled;
  }

  async listDomains(): Promise<ServedDomain[]> {
    return [...this.domains.values()];
  }

  async lookupHa1(user: string, domain: string, algorithm: DigestAlgorithm): Promise<string | undefined> {
    const d = this.domains.get(domain.toLowerCase());
    const a = this.accounts.get(`${user}@${domain.toLowerCase()}`);
    if (!d || !a || a.disabled) return undefined;
    const key = `${algorithm}\u0000${d.realm}`;
    let ha1 = a.ha1?.get(key);
    if (ha1 === undefined) {
      ha1 = computeHa1(algorithm, user, d.realm, a.password);
      (a.ha1 ??= new Map()).set(key, ha1);
    }
    return ha1;
  }

  async accountStatus(user: string, domain: string): Promise<AccountStatus> {
    const a = this.accounts.get(`${user}@${domain.toLowerCase()}`);
    return !a ? "unknown" : a.disabled ? "disabled" : "active";
  }

  async isVirtualPresentity(user: string, domain: string): Promise<boolean> {
    return this.virtual.has(`${user}@${domain}`.toLowerCase());
  }
}

interface AccountRow {
  disabled: boolean;
  ha1: string;
  ha1Sha256: string;
}

/**
 * Reads Herald's Domain and Account tables (HA1 columns are MD5 `ha1` and `ha1Sha256`).
 *
 * With `cache`, an account's row (HA1s and disabled flag, or its absence) is read once and reused
 * by every request until the cache's TTL or an account write in this process (CredentialsCache):
 * a PUBLISH made two Prisma queries (credentials, then status), about half of its CPU.
 */
export class PrismaAccountDirectory implements AccountDirectory {
  private readonly cache?: CredentialsCache<AccountRow>;
  private readonly virtualCache?: CredentialsCache<{ id: number }>;

  constructor(
    private readonly db: Db,
    options: { cache?: CredentialsCache<AccountRow>; virtualCache?: CredentialsCache<{ id: number }> } = {},
  ) {
    this.cache = options.cache;
    this.virtualCache = options.virtualCache;
  }

  private row(user: string, domain: string): Promise<AccountRow | null> {
    const address = `${user}@${domain}`.toLowerCase();
    const load = () => this.db.account.findUnique({ where: { address }, select: { disabled: true, ha1: true, ha1Sha256: true } });
    return this.cache ? this.cache.get(address, "", load) : load();
  }

  async listDomains(): Promise<ServedDomain[]> {
    const rows = await this.db.domain.findMany({ where: { enabled: true } });
    return rows.map((r) => ({ name: r.name.toLowerCase(), realm: r.realm }));
  }

  async lookupHa1(user: string, domain: string, algorithm: DigestAlgorithm): Promise<string | undefined> {
    const row = await this.row(user, domain);
    if (!row || row.disabled) return undefined;
    return algorithm === "SHA-256" ? row.ha1Sha256 : row.ha1;
  }

  async accountStatus(user: string, domain: string): Promise<AccountStatus> {
    const row = await this.row(user, domain);
    return !row ? "unknown" : row.disabled ? "disabled" : "active";
  }

  /** The VirtualPresentity table (cached as accounts are: created and deleted in this process empty it). */
  async isVirtualPresentity(user: string, domain: string): Promise<boolean> {
    const address = `${user}@${domain}`.toLowerCase();
    const load = () => this.db.virtualPresentity.findUnique({ where: { address }, select: { id: true } });
    return (await (this.virtualCache ? this.virtualCache.get(address, "", load) : load())) !== null;
  }
}

/** At most this many `+` prefixes of a user part are looked up (`a+b+…@d`). */
const MAX_TAG_PREFIXES = 8;

/**
 * The account a SIP URI belongs to, if any: the account's own AOR (`exact`), or the URIs Herald
 * derives from an account, `sip:<account>+<tag>@<domain>` (`sip:alice+presence@…`, the longest
 * account name that matches wins). A virtual presentity owns its own address (`exact`), nothing
 * derived from it. Undefined for other URIs and for domains not served here.
 * Accounts count whether enabled or disabled. User parts compare case-insensitively, as the
 * Account table stores addresses in lower case.
 */
export async function accountOwningUri(accounts: AccountDirectory, uri: string): Promise<{ aor: string; exact: boolean } | undefined> {
  if (!/^sips?:/i.test(uri.trim())) return undefined;
  const { user: raw, domain } = splitAor(canonicalAor(uri));
  const user = raw.toLowerCase();
  if (!user || !domain) return undefined;
  if ((await accounts.accountStatus(user, domain)) !== "unknown") return { aor: `sip:${user}@${domain}`, exact: true };
  if (await accounts.isVirtualPresentity?.(user, domain)) return { aor: `sip:${user}@${domain}`, exact: true };
  const cuts: number[] = [];
  for (let i = user.indexOf("+"); i > 0 && cuts.length < MAX_TAG_PREFIXES; i = user.indexOf("+", i + 1)) cuts.push(i);
  for (let k = cuts.length - 1; k >= 0; k--) {
    const base = user.slice(0, cuts[k]);
    if ((await accounts.accountStatus(base, domain)) !== "unknown") return { aor: `sip:${base}@${domain}`, exact: false };
  }
  return undefined;
}

/**
 * Whether `uri` may not be `owner`'s rls-services service URI (RFC 4826 §4.4.7 makes service URIs
 * unique; an account's AOR is taken by the account): it is an account's AOR (the owner's own
 * included), or derived from another account (`sip:bob+presence@…` is bob's). The XCAP server's
 * `isUriTaken` hook.
 */
export function serviceUriTaken(accounts: AccountDirectory): (uri: string, owner: string) => Promise<boolean> {
  return async (uri, owner) => {
    const claim = await accountOwningUri(accounts, uri);
    return claim !== undefined && (claim.exact || claim.aor !== canonicalAor(owner).toLowerCase());
  };
}
