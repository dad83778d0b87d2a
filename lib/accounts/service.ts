/** Domains and accounts: the operations the CLI, the portal and the SIP server share. */
import type { Db } from "../db";
import { parseAddress, normalizeDomain } from "./address";
import { digestHa1, hashPassword, passwordProblem, verifyPassword } from "./password";
import { accountsChanged } from "./changes";
import { revokeSessions, type RevocationReason } from "./revocations";

export type AccountErrorCode =
  | "malformed-address"
  | "unknown-domain"
  | "duplicate-domain"
  | "duplicate-account"
  | "unknown-account"
  | "weak-password";

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

export async function audit(db: Db, e: { actor?: string | null; action: string; target?: string | null; detail?: string; ip?: string | null }) {
  await db.auditEvent.create({
    data: { actor: e.actor ?? null, action: e.action, target: e.target ?? null, detail: e.detail ?? null, ip: e.ip ?? null },
  });
}

export async function addDomain(db: Db, name: string, opts: { realm?: string; actor?: string } = {}) {
  let domain: string;
  try {
    domain = normalizeDomain(name);
  } catch (err) {
    throw new AccountError("malformed-address", (err as Error).message);
  }
  if (await db.domain.findUnique({ where: { name: domain } })) {
    throw new AccountError("duplicate-domain", `domain ${domain} already exists`);
  }
  const d = await db.domain.create({ data: { name: domain, realm: opts.realm ?? domain } });
  accountsChanged();
  await audit(db, { actor: opts.actor ?? "cli", action: "domain.add", target: domain });
  return d;
}

function parse(address: string) {
  try {
    return parseAddress(address);
  } catch (err) {
    throw new AccountError("malformed-address", (err as Error).message);
  }
}

function checkPassword(password: string) {
  const problem = passwordProblem(password);
  if (problem) throw new AccountError("weak-password", problem);
}

export async function addAccount(
  db: Db,
  input: { address: string; password: string; displayName?: string; role?: Role; actor?: string },
): Promise<AccountView> {
  const { user, domain, address } = parse(input.address);
  checkPassword(input.password);
  const d = await db.domain.findUnique({ where: { name: domain } });
  if (!d) throw new AccountError("unknown-domain", `unknown domain ${domain} (add it first: herald domains add ${domain})`);
  if (await db.account.findUnique({ where: { address } })) {
    throw new AccountError("duplicate-account", `account ${address} already exists`);
  }
  const a = await db.account.create({
    data: {
      username: user,
      domainId: d.id,
      address,
      displayName: input.displayName?.trim() || null,
      passwordHash: await hashPassword(input.password),
      ha1: digestHa1(user, d.realm, input.password, "md5"),
      ha1Sha256: digestHa1(user, d.realm, input.password, "sha256"),
      role: input.role ?? "user",
    },
  });
  // cached "no such account" answers (digest credentials) must not outlive the account's creation
  accountsChanged();
  await audit(db, { actor: input.actor ?? "cli", action: "account.add", target: address, detail: `role=${a.role}` });
  return view(a);
}

async function find(db: Db, address: string) {
  const { address: a } = parse(address);
  const acc = await db.account.findUnique({ where: { address: a }, include: { domain: true } });
  if (!acc) throw new AccountError("unknown-account", `no account ${a}`);
  return acc;
}

export async function setPassword(db: Db, address: string, password: string, actor = "cli") {
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
  await audit(db, { actor, action: "account.passwd", target: acc.address });
}

export async function setDisabled(db: Db, address: string, disabled: boolean, actor = "cli") {
  const acc = await find(db, address);
  if (disabled) await revokeSessions(db, acc, "disabled", { disabled });
  else await db.account.update({ where: { id: acc.id }, data: { disabled } });
  accountsChanged();
  await audit(db, { actor, action: disabled ? "account.disable" : "account.enable", target: acc.address });
}

/** The name shown for the account (portal, SIP From, published PIDF `c:display-name`); empty clears it. */
export async function setDisplayName(db: Db, address: string, displayName: string, actor = "cli"): Promise<AccountView> {
  const acc = await find(db, address);
  const name = displayName.trim() || null;
  const updated = await db.account.update({ where: { id: acc.id }, data: { displayName: name } });
  accountsChanged();
  await audit(db, { actor, action: "account.name", target: acc.address });
  return view(updated);
}

export async function setRole(db: Db, address: string, role: Role, actor = "cli") {
  const acc = await find(db, address);
  await db.account.update({ where: { id: acc.id }, data: { role } });
  accountsChanged();
  await audit(db, { actor, action: "account.role", target: acc.address, detail: `role=${role}` });
}

/**
 * Delete an account with its XCAP documents (a later account of the same address starts empty).
 * Its sessions and connections end as for a disabled account; presence state the running server
 * holds for it is dropped by that server (lib/accounts/revocation-watcher).
 */
export async function deleteAccount(db: Db, address: string, actor = "cli") {
  const acc = await find(db, address);
  const xui = `sip:${acc.address}`;
  await revokeSessions(db, acc, "deleted", null, [
    db.rlsServiceUri.deleteMany({ where: { xui } }),
    db.xcapDocument.deleteMany({ where: { scope: "users", xui } }),
  ]);
  accountsChanged();
  await audit(db, { actor, action: "account.delete", target: acc.address });
}

export async function listAccounts(db: Db): Promise<AccountView[]> {
  return (await db.account.findMany({ orderBy: { address: "asc" } })).map(view);
}

export async function getAccount(db: Db, address: string): Promise<AccountView | null> {
  try {
    const acc = await db.account.findUnique({ where: { address: parseAddress(address).address } });
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
    a = parseAddress(address).address;
  } catch {
    return { ok: false, reason: "malformed-address" };
  }
  const acc = await db.account.findUnique({ where: { address: a } });
  if (!acc) {
    // spend comparable time so unknown accounts are not revealed by timing
    await verifyPassword(password, "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    return { ok: false, reason: "unknown-account" };
  }
  const good = await verifyPassword(password, acc.passwordHash);
  if (!good) return { ok: false, reason: "bad-password" };
  if (acc.disabled) return { ok: false, reason: "disabled" };
  return { ok: true, account: view(acc) };
}
