/**
 * Department lists (ISSUE-16 item 4): RLS services (RFC 4662) the operator keeps, such as
 * `sip:engineering@example.test`, in the DepartmentList tables. Any user of the list's domain may
 * subscribe to it; the RLS makes the back-end subscriptions as that user, so each member's own
 * pres-rules decide what the subscriber sees (lib/server/rls). The console, the API and the CLI
 * change lists only through here: checked whole before anything is written, audited, and announced
 * on a process bus so that running list subscriptions follow at once.
 */
import type { Db } from "../db";
import { processBus } from "../process-wide";
import { parseAor } from "../sip/aor";
import { accountAddress } from "./address";
import { AccountError, audit, actorOf, cleanDisplayName, type Actor } from "./service";

export interface DepartmentListMemberView {
  /** user@domain (no scheme), as accounts are shown */
  address: string;
  displayName: string | null;
}

export interface DepartmentListView {
  /** user@domain */
  address: string;
  domain: string;
  displayName: string | null;
  members: DepartmentListMemberView[];
  updatedAt: Date;
}

export interface MemberInput {
  address: string;
  displayName?: string | null;
}

/** Default bound of members per list (LIST_MAX_MEMBERS). */
export const DEFAULT_LIST_MAX_MEMBERS = 500;

/** Canonical URIs of lists changed or deleted in this process (the RLS reloads their subscriptions). */
export function departmentListChanges() {
  return processBus<string>("__heraldDepartmentListChanges");
}

type ListRow = { address: string; domain: string; displayName: string | null; updatedAt: Date; members: Array<{ uri: string; displayName: string | null }> };

function view(l: ListRow): DepartmentListView {
  return { address: l.address, domain: l.domain, displayName: l.displayName, updatedAt: l.updatedAt, members: l.members.map((m) => ({ address: m.uri.replace(/^sip:/, ""), displayName: m.displayName })) };
}

const withMembers = { members: { orderBy: { position: "asc" as const }, select: { uri: true, displayName: true } } };

function listAddress(input: string): { address: string; domain: string } {
  try {
    const a = accountAddress(input);
    return { address: a.address.toLowerCase(), domain: a.domain };
  } catch (err) {
    throw new AccountError("malformed-address", (err as Error).message);
  }
}

/** Members as stored: canonical `sip:user@domain`, display names cleaned; duplicates, the list itself and too many refused. */
function cleanMembers(listAor: string, members: MemberInput[], max: number): Array<{ uri: string; displayName: string | null }> {
  if (members.length > max) throw new AccountError("invalid-value", `a list has at most ${max} members (got ${members.length}; LIST_MAX_MEMBERS)`);
  const seen = new Set<string>();
  return members.map((m, i) => {
    let uri: string;
    try {
      uri = parseAor(m.address).aor;
    } catch (err) {
      throw new AccountError("malformed-address", `member ${i + 1}: ${(err as Error).message}`);
    }
    const key = uri.toLowerCase();
    if (key === listAor) throw new AccountError("invalid-value", `member ${i + 1}: a list cannot contain itself`);
    if (seen.has(key)) throw new AccountError("invalid-value", `member ${i + 1}: ${uri.slice(4)} is listed twice`);
    seen.add(key);
    return { uri, displayName: cleanDisplayName(m.displayName) };
  });
}

/**
 * Whether `aor` (sip:user@domain) is taken by an account, a URI derived from one (`alice+x@`), a
 * user's rls-services or a virtual presentity (lib/accounts/virtual-presentities.ts uses it too).
 */
export async function addressTaken(db: Db, address: string, domain: string): Promise<string | undefined> {
  const user = address.slice(0, address.lastIndexOf("@"));
  const bases = [user, ...[...user.matchAll(/\+/g)].map((m) => user.slice(0, m.index))].map((u) => `${u}@${domain}`);
  const account = await db.account.findFirst({ where: { address: { in: bases } }, select: { address: true } });
  if (account) return account.address === address ? `${address} is an account` : `${address} is derived from the account ${account.address}`;
  const service = await db.rlsServiceUri.findFirst({ where: { uri: { in: [`sip:${address}`, `sips:${address}`] } }, select: { xui: true } });
  if (service) return `${address} is a service URI of ${service.xui.replace(/^sip:/, "")}`;
  if (await db.virtualPresentity.findUnique({ where: { address: address.toLowerCase() } })) return `${address} is a virtual presentity`;
  return undefined;
}

async function find(db: Db, address: string) {
  const { address: a } = listAddress(address);
  const l = await db.departmentList.findUnique({ where: { address: a }, include: withMembers });
  if (!l) throw new AccountError("unknown-list", `no department list ${a}`);
  return l;
}

function changed(address: string): void {
  departmentListChanges().emit(`sip:${address}`);
}

export async function listDepartmentLists(db: Db, opts: { domain?: string } = {}): Promise<DepartmentListView[]> {
  const rows = await db.departmentList.findMany({ where: opts.domain ? { domain: opts.domain.toLowerCase() } : {}, orderBy: { address: "asc" }, include: withMembers });
  return rows.map(view);
}

export async function getDepartmentList(db: Db, address: string): Promise<DepartmentListView> {
  return view(await find(db, address));
}

/** The list at a SIP URI (`sip:engineering@example.test`), for the RLS; undefined when there is none. */
export async function departmentListAt(db: Db, uri: string): Promise<DepartmentListView | undefined> {
  const address = uri.replace(/^sips?:/i, "").toLowerCase();
  const l = await db.departmentList.findUnique({ where: { address }, include: withMembers });
  return l ? view(l) : undefined;
}

/** Whether a user's rls-services may not claim `uri` because a department list has it (RFC 4826 §4.4.7: service URIs are unique). */
export async function departmentListTaken(db: Db, uri: string): Promise<boolean> {
  if (!/^sips?:[^@]+@/i.test(uri.trim())) return false;
  return (await departmentListAt(db, uri.trim())) !== undefined;
}

export async function createDepartmentList(
  db: Db,
  input: { address: string; displayName?: string | null; members?: MemberInput[] },
  opts: { actor?: Actor; maxMembers?: number } = {},
): Promise<DepartmentListView> {
  const { address, domain } = listAddress(input.address);
  const displayName = cleanDisplayName(input.displayName);
  const members = cleanMembers(`sip:${address}`, input.members ?? [], opts.maxMembers ?? DEFAULT_LIST_MAX_MEMBERS);
  if (!(await db.domain.findUnique({ where: { name: domain } }))) throw new AccountError("unknown-domain", `unknown domain ${domain} (add it first)`);
  if (await db.departmentList.findUnique({ where: { address } })) throw new AccountError("duplicate-list", `department list ${address} already exists`);
  const taken = await addressTaken(db, address, domain);
  if (taken) throw new AccountError("duplicate-list", `${taken}: a department list needs an address of its own`);
  const l = await db.departmentList.create({
    data: { address, domain, displayName, members: { create: members.map((m, position) => ({ ...m, position })) } },
    include: withMembers,
  });
  await audit(db, { ...actorOf(opts.actor), action: "list.add", target: address, detail: `members=${members.length}` });
  changed(address);
  return view(l);
}

/**
 * Change a list: `displayName` (null clears it) and the members — `members` replaces them all,
 * `add` appends (an address already there is refused), `remove` takes addresses out (one that is
 * not there is refused). Everything is checked before anything is written.
 */
export async function updateDepartmentList(
  db: Db,
  address: string,
  change: { displayName?: string | null; members?: MemberInput[]; add?: MemberInput[]; remove?: string[] },
  opts: { actor?: Actor; maxMembers?: number } = {},
): Promise<DepartmentListView> {
  const l = await find(db, address);
  const aor = `sip:${l.address}`;
  const max = opts.maxMembers ?? DEFAULT_LIST_MAX_MEMBERS;
  const displayName = change.displayName === undefined ? l.displayName : cleanDisplayName(change.displayName);
  let members: MemberInput[] = change.members ? cleanMembers(aor, change.members, Infinity).map((m) => ({ address: m.uri, displayName: m.displayName })) : l.members.map((m) => ({ address: m.uri, displayName: m.displayName }));
  if (change.remove?.length) {
    const gone = new Set<string>();
    const present = new Set(members.map((m) => m.address.toLowerCase()));
    for (const [i, r] of change.remove.entries()) {
      let uri: string;
      try {
        uri = parseAor(r).aor.toLowerCase();
      } catch (err) {
        throw new AccountError("malformed-address", `remove ${i + 1}: ${(err as Error).message}`);
      }
      if (!present.has(uri)) throw new AccountError("invalid-value", `remove ${i + 1}: ${uri.slice(4)} is not a member`);
      gone.add(uri);
    }
    members = members.filter((m) => !gone.has(m.address.toLowerCase()));
  }
  if (change.add?.length) members = [...members, ...change.add];
  const cleaned = cleanMembers(aor, members, max);
  await db.$transaction([
    db.departmentListMember.deleteMany({ where: { listId: l.id } }),
    db.departmentList.update({
      where: { id: l.id },
      data: { displayName, members: { create: cleaned.map((m, position) => ({ ...m, position })) } },
    }),
  ]);
  const before = new Set(l.members.map((m) => m.uri.toLowerCase()));
  const after = new Set(cleaned.map((m) => m.uri.toLowerCase()));
  const added = [...after].filter((u) => !before.has(u)).length;
  const removed = [...before].filter((u) => !after.has(u)).length;
  const detail = [`members=${cleaned.length}`, added ? `added=${added}` : "", removed ? `removed=${removed}` : "", displayName !== l.displayName ? `name=${displayName ?? ""}` : ""].filter(Boolean).join(" ");
  await audit(db, { ...actorOf(opts.actor), action: "list.edit", target: l.address, detail });
  changed(l.address);
  return getDepartmentList(db, l.address);
}

export async function deleteDepartmentList(db: Db, address: string, opts: { actor?: Actor } = {}): Promise<void> {
  const l = await find(db, address);
  await db.departmentList.delete({ where: { id: l.id } });
  await audit(db, { ...actorOf(opts.actor), action: "list.delete", target: l.address });
  changed(l.address);
}
