/** Domains and accounts: the operations the CLI, the portal and the SIP server share. */
import type { Db } from "../db";
import { accountAddress, normalizeDomain } from "./address";
import { digestHa1, hashPassword, passwordProblem, verifyPassword } from "./password";
import { accountsChanged } from "./changes";
import { revokeDomainSessions, revokeSessions, type RevocationReason } from "./revocations";

export type AccountErrorCode =
  | "malformed-address"
  | "unknown-domain"
  | "duplicate-domain"
  | "duplicate-account"
  | "unknown-account"
  | "unknown-domain-name"
  | "realm-in-use"
  | "invalid-value"
  | "malformed-document"
  | "weak-password"
  | "duplicate-list"
  | "unknown-list";

export type { RevocationReason };

export class AccountError extends Error {
  constructor(
    readonly code: AccountErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "AccountError";
  }
}

export type Role = "user" | "admin";

export interface AccountView {
  id: number;
  address: string;
  displayName: string | null;
  role: Role;
  disabled: boolean;
}

function view(a: { id: number; address: string; displayName: string | null; role: string; disabled: boolean }): AccountView {
  return { id: a.id, address: a.address, displayName: a.displayName, role: a.role === "admin" ? "admin" : "user", disabled: a.disabled };
}

/**
 * Who made a change, for the audit log: "cli", `admin:<address>` (the console), `token:<name>`
 * (the provisioning API) — with the client address when it came over HTTP.
 */
export type Actor = string | { actor: string; ip?: string | null };

export function actorOf(a: Actor | undefined): { actor: string; ip: string | null } {
  if (a === undefined) return { actor: "cli", ip: null };
  return typeof a === "string" ? { actor: a, ip: null } : { actor: a.actor, ip: a.ip ?? null };
}

async function auditBy(db: Db, by: Actor | undefined, e: { action: string; target?: string | null; detail?: string }) {
  await audit(db, { ...actorOf(by), ...e });
}

export async function audit(db: Db, e: { actor?: string | null; action: string; target?: string | null; detail?: string; ip?: string | null }) {
  await db.auditEvent.create({
    data: { actor: e.actor ?? null, action: e.action, target: e.target ?? null, detail: e.detail ?? null, ip: e.ip ?? null },
  });
}

export async function addDomain(db: Db, name: string, opts: { realm?: string; actor?: Actor } = {}) {
  let domain: string;
  try {
    domain = normalizeDomain(name);
  } catch (err) {
    throw new AccountError("malformed-address", (err as Error).message);
  }
  if (await db.domain.findUnique({ where: { name: domain } })) {
    throw new AccountError("duplicate-domain", `domain ${domain} already exists`);
  }
  const realm = opts.realm === undefined ? domain : checkRealm(opts.realm);
  const d = await db.domain.create({ data: { name: domain, realm } });
  accountsChanged();
  await auditBy(db, opts.actor, { action: "domain.add", target: domain, detail: `realm=${realm}` });
  return d;
}

// a digest realm is a quoted-string (RFC 3261 §25.1): printable, no quotes or backslashes
const REALM_RE = /^[\x21\x23-\x5b\x5d-\x7e]([\x20\x21\x23-\x5b\x5d-\x7e]{0,126}[\x21\x23-\x5b\x5d-\x7e])?$/;

function checkRealm(realm: string): string {
  if (!REALM_RE.test(realm)) throw new AccountError("invalid-value", `malformed realm ${JSON.stringify(realm)}: 1-128 printable characters without quotes or backslashes`);
  return realm;
}

export interface DomainView {
  name: string;
  realm: string;
  enabled: boolean;
  accounts: number;
}

export async function listDomains(db: Db): Promise<DomainView[]> {
  const ds = await db.domain.findMany({ orderBy: { name: "asc" }, include: { _count: { select: { accounts: true } } } });
  return ds.map((d) => ({ name: d.name, realm: d.realm, enabled: d.enabled, accounts: d._count.accounts }));
}

async function findDomain(db: Db, name: string) {
  let n: string;
  try {
    n = normalizeDomain(name);
  } catch (err) {
    throw new AccountError("malformed-address", (err as Error).message);
  }
  const d = await db.domain.findUnique({ where: { name: n }, include: { _count: { select: { accounts: true } } } });
  if (!d) throw new AccountError("unknown-domain-name", `no domain ${n}`);
  return d;
}

export async function getDomain(db: Db, name: string): Promise<DomainView> {
  const d = await findDomain(db, name);
  return { name: d.name, realm: d.realm, enabled: d.enabled, accounts: d._count.accounts };
}

/**
 * Change a domain's realm or enable/disable it. The realm is part of every stored digest HA1
 * (MD5(user:realm:password)), which cannot be recomputed without the passwords: it can change
 * only while the domain has no accounts ("realm-in-use" otherwise). A disabled domain gets no
 * new page SIP credentials and is not served by the SIP server; existing sessions go on.
 */
export async function updateDomain(db: Db, name: string, change: { realm?: string; enabled?: boolean }, actor?: Actor): Promise<DomainView> {
  const d = await findDomain(db, name);
  const data: { realm?: string; enabled?: boolean } = {};
  if (change.realm !== undefined && change.realm !== d.realm) {
    data.realm = checkRealm(change.realm);
    if (d._count.accounts > 0) {
      throw new AccountError("realm-in-use", `the realm of ${d.name} cannot change while it has accounts (their digest credentials are derived from it)`);
    }
  }
  if (change.enabled !== undefined && change.enabled !== d.enabled) data.enabled = change.enabled;
  if (Object.keys(data).length > 0) {
    const update = db.domain.update({ where: { id: d.id }, data });
    // a disabled domain's users are signed out everywhere, as a disabled account's
    if (data.enabled === false) await revokeDomainSessions(db, d.id, update);
    else await update;
    accountsChanged();
    const detail = Object.entries(data).map(([k, v]) => `${k}=${v}`).join(" ");
    await auditBy(db, actor, { action: data.enabled === false ? "domain.disable" : data.enabled === true ? "domain.enable" : "domain.edit", target: d.name, detail });
  }
  return getDomain(db, d.name);
}

function parse(address: string) {
  try {
    return accountAddress(address);
  } catch (err) {
    throw new AccountError("malformed-address", (err as Error).message);
  }
}

export function checkPassword(password: string) {
  const problem = passwordProblem(password);
  if (problem) throw new AccountError("weak-password", problem);
}

export async function addAccount(
  db: Db,
  input: { address: string; password: string; displayName?: string; role?: Role; actor?: Actor },
): Promise<AccountView> {
  const { user, domain, address } = parse(input.address);
  checkPassword(input.password);
  const d = await db.domain.findUnique({ where: { name: domain } });
  if (!d) throw new AccountError("unknown-domain", `unknown domain ${domain} (add it first: herald domains add ${domain})`);
  if (await db.account.findUnique({ where: { address } })) {
    throw new AccountError("duplicate-account", `account ${address} already exists`);
  }
  if (await db.virtualPresentity.findUnique({ where: { address: address.toLowerCase() } })) {
    throw new AccountError("duplicate-account", `${address} is a virtual presentity (delete it first)`);
  }
  const a = await db.account.create({
    data: {
      username: user,
      domainId: d.id,
      address,
      displayName: cleanDisplayName(input.displayName),
      passwordHash: await hashPassword(input.password),
      ha1: digestHa1(user, d.realm, input.password, "md5"),
      ha1Sha256: digestHa1(user, d.realm, input.password, "sha256"),
      role: input.role ?? "user",
    },
  });
  // cached "no such account" answers (digest credentials) must not outlive the account's creation
  accountsChanged();
  await auditBy(db, input.actor, { action: "account.add", target: address, detail: `role=${a.role}` });
  return view(a);
}

export const MAX_DISPLAY_NAME = 128;

/** A display name as stored: trimmed, blank → none; control characters or > 128 characters refused. */
export function cleanDisplayName(name: string | null | undefined): string | null {
  const n = name?.trim() ?? "";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(n)) throw new AccountError("invalid-value", "display name must not contain control characters");
  if (n.length > MAX_DISPLAY_NAME) throw new AccountError("invalid-value", `display name longer than ${MAX_DISPLAY_NAME} characters`);
  return n || null;
}

/** The name shown for the account (portal, SIP From, published PIDF `c:display-name`); empty clears it. */
export async function setDisplayName(db: Db, address: string, displayName: string | null, actor?: Actor): Promise<AccountView> {
  const acc = await find(db, address);
  const name = cleanDisplayName(displayName);
  if (name === acc.displayName) return view(acc);
  const updated = await db.account.update({ where: { id: acc.id }, data: { displayName: name } });
  accountsChanged();
  await auditBy(db, actor, { action: "account.name", target: acc.address, detail: name === null ? "name cleared" : `name=${name}` });
  return view(updated);
}

async function find(db: Db, address: string) {
  const { address: a } = parse(address);
  const acc = await db.account.findUnique({ where: { address: a }, include: { domain: true } });
  if (!acc) throw new AccountError("unknown-account", `no account ${a}`);
  return acc;
}

export async function setPassword(db: Db, address: string, password: string, actor?: Actor) {
  const acc = await find(db, address);
  checkPassword(password);
  const data = {
    passwordHash: await hashPassword(password),
    ha1: digestHa1(acc.username, acc.domain.realm, password, "md5"),
    ha1Sha256: digestHa1(acc.username, acc.domain.realm, password, "sha256"),
  };
  // sessions and connections opened with the old password end (lib/accounts/revocations)
  await revokeSessions(db, acc, "password-changed", data);
  accountsChanged();
  await auditBy(db, actor, { action: "account.passwd", target: acc.address });
}

export async function setDisabled(db: Db, address: string, disabled: boolean, actor?: Actor) {
  const acc = await find(db, address);
  if (disabled) await revokeSessions(db, acc, "disabled", { disabled });
  else await db.account.update({ where: { id: acc.id }, data: { disabled } });
  accountsChanged();
  await auditBy(db, actor, { action: disabled ? "account.disable" : "account.enable", target: acc.address });
}

export async function setRole(db: Db, address: string, role: Role, actor?: Actor) {
  const acc = await find(db, address);
  await db.account.update({ where: { id: acc.id }, data: { role } });
  accountsChanged();
  await auditBy(db, actor, { action: "account.role", target: acc.address, detail: `role=${role}` });
}

/**
 * Delete an account with its XCAP documents (a later account of the same address starts empty).
 * Its sessions and connections end as for a disabled account; presence state the running server
 * holds for it is dropped by that server (lib/accounts/revocation-watcher).
 */
export async function deleteAccount(db: Db, address: string, actor?: Actor) {
  const acc = await find(db, address);
  const xui = `sip:${acc.address}`;
  await revokeSessions(db, acc, "deleted", null, [
    db.rlsServiceUri.deleteMany({ where: { xui } }),
    db.xcapDocument.deleteMany({ where: { scope: "users", xui } }),
  ]);
  accountsChanged();
  await auditBy(db, actor, { action: "account.delete", target: acc.address });
}

export async function listAccounts(db: Db): Promise<AccountView[]> {
  return (await db.account.findMany({ orderBy: { address: "asc" } })).map(view);
}

export const MAX_PAGE_SIZE = 200;

export interface AccountPage {
  items: AccountView[];
  /** 1-based */
  page: number;
  pageSize: number;
  total: number;
}

/**
 * One page of accounts in address order, optionally only those whose address or display name
 * contains `query` (the address compared lower-case). Two indexed-table queries (count + page).
 */
export async function searchAccounts(db: Db, opts: { query?: string; page?: number; pageSize?: number } = {}): Promise<AccountPage> {
  const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(opts.pageSize ?? 50)));
  const page = Math.max(1, Math.floor(opts.page ?? 1));
  const q = opts.query?.trim() ?? "";
  const where = q ? { OR: [{ address: { contains: q.toLowerCase() } }, { displayName: { contains: q } }] } : {};
  const [total, rows] = await Promise.all([
    db.account.count({ where }),
    db.account.findMany({ where, orderBy: { address: "asc" }, skip: (page - 1) * pageSize, take: pageSize }),
  ]);
  return { items: rows.map(view), page, pageSize, total };
}

export async function getAccount(db: Db, address: string): Promise<AccountView | null> {
  try {
    const acc = await db.account.findUnique({ where: { address: accountAddress(address).address } });
    return acc ? view(acc) : null;
  } catch {
    return null;
  }
}

export type LoginResult =
  | { ok: true; account: AccountView }
  | { ok: false; reason: "malformed-address" | "unknown-account" | "disabled" | "bad-password" };

/** Check portal credentials. Never says which of address/password was wrong to the caller's UI. */
export async function checkLogin(db: Db, address: string, password: string): Promise<LoginResult> {
  let a: string;
  try {
    a = accountAddress(address).address;
  } catch {
    return { ok: false, reason: "malformed-address" };
  }
  const acc = await db.account.findUnique({ where: { address: a }, include: { domain: { select: { enabled: true } } } });
  if (!acc) {
    // spend comparable time so unknown accounts are not revealed by timing
    await verifyPassword(password, "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    return { ok: false, reason: "unknown-account" };
  }
  const good = await verifyPassword(password, acc.passwordHash);
  if (!good) return { ok: false, reason: "bad-password" };
  if (acc.disabled || !acc.domain.enabled) return { ok: false, reason: "disabled" };
  return { ok: true, account: view(acc) };
}
