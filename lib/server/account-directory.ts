/**
 * Which domains the presence server serves and the accounts it authenticates. The server only
 * talks to this interface; `PrismaAccountDirectory` reads the Domain/Account tables,
 * `MemoryAccountDirectory` serves tests and benchmarks.
 */
import { computeHa1, type DigestAlgorithm } from "../sip";
import type { Db } from "../db";

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
}

/** In-memory directory: `addDomain`, then `addAccount` with a clear-text password. */
export class MemoryAccountDirectory implements AccountDirectory {
  private readonly domains = new Map<string, ServedDomain>();
  /** HA1 per realm and algorithm is derived once per account (a hash per authentication otherwise). */
  private readonly accounts = new Map<string, { password: string; disabled: boolean; ha1?: Map<string, string> }>();

  addDomain(name: string, realm = name): this {
    this.domains.set(name.toLowerCase(), { name: name.toLowerCase(), realm });
    return this;
  }

  addAccount(user: string, domain: string, password: string, options: { disabled?: boolean } = {}): this {
    this.accounts.set(`${user}@${domain.toLowerCase()}`, { password, disabled: options.disabled ?? false });
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
}

/** Reads Herald's Domain and Account tables (HA1 columns are MD5 `ha1` and `ha1Sha256`). */
export class PrismaAccountDirectory implements AccountDirectory {
  constructor(private readonly db: Db) {}

  async listDomains(): Promise<ServedDomain[]> {
    const rows = await this.db.domain.findMany({ where: { enabled: true } });
    return rows.map((r) => ({ name: r.name.toLowerCase(), realm: r.realm }));
  }

  async lookupHa1(user: string, domain: string, algorithm: DigestAlgorithm): Promise<string | undefined> {
    const row = await this.db.account.findUnique({ where: { address: `${user}@${domain}`.toLowerCase() } });
    if (!row || row.disabled) return undefined;
    return algorithm === "SHA-256" ? row.ha1Sha256 : row.ha1;
  }

  async accountStatus(user: string, domain: string): Promise<AccountStatus> {
    const row = await this.db.account.findUnique({ where: { address: `${user}@${domain}`.toLowerCase() }, select: { disabled: true } });
    return !row ? "unknown" : row.disabled ? "disabled" : "active";
  }
}
