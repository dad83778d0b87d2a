/**
 * What the operator console (app/admin) needs from lib: its reads, and server actions run as a
 * checked admin with the change audited as `admin:<address>` and the client's address.
 */
import { headers } from "next/headers";
import type { z } from "zod";
import { db } from "../db";
import { currentUser, type HeraldUser } from "./auth";
import {
  AccountError,
  addAccount,
  addDomain,
  deleteAccount,
  getAccount,
  listDomains,
  searchAccounts,
  setDisabled,
  setPassword,
  setRole,
  updateDomain,
  type AccountView,
  type Actor,
  type DomainView,
  type Role,
  audit,
  actorOf,
} from "../accounts/service";
import {
  createDepartmentList,
  deleteDepartmentList,
  getDepartmentList,
  listDepartmentLists,
  updateDepartmentList,
  type MemberInput,
} from "../accounts/department-lists";
import { config } from "../config";
import { liveStateActions, type LiveActionOutcome } from "./live-state";
import { serviceSeries } from "./service-samples";
import { changeDisplayName } from "./display-name";
import { generatePassword } from "../accounts/password";
import { importAccounts, type ImportReport } from "../accounts/csv-import";
import { auditActions, searchAudit, type AuditFilter } from "../accounts/audit-log";
import { CLIENT_IP_HEADER } from "./client-address";
import { virtualPresentities } from "./virtual-presentities";
import { getPermanentStatus, setPermanentStatus } from "./presence-documents";
import type { PresenceInput, Watchers } from "../accounts/virtual-presentities";
import { failure } from "./action-result";
import type { ActionResult } from "./wire-types";

/** Accounts per console page. */
export const ADMIN_PAGE_SIZE = 50;

export const adminAccounts = (query: string | undefined, page: number | undefined) => searchAccounts(db(), { query, page, pageSize: ADMIN_PAGE_SIZE });
export const adminAccount = (address: string) => getAccount(db(), address);
export const adminDomains = () => listDomains(db());
export const adminAudit = (f: AuditFilter) => searchAudit(db(), { ...f, pageSize: ADMIN_PAGE_SIZE });
export const adminAuditActions = () => auditActions(db());
export { liveAccountState as adminLiveState } from "./live-state";
export const adminPresentities = () => virtualPresentities().list();
export const adminPresentity = (address: string) => virtualPresentities().get(address);
export const adminPermanentStatus = (address: string) => getPermanentStatus(address);
export const adminServiceSeries = () => serviceSeries();

/** GET /admin/service/samples: the charts' series as JSON, for an admin session only. */
export async function serviceSamplesResponse(): Promise<Response> {
  const user = await currentUser();
  const headers = { "cache-control": "no-store" };
  if (!user) return Response.json({ error: "sign in" }, { status: 401, headers });
  if (user.role !== "admin") return Response.json({ error: "operators only" }, { status: 403, headers });
  const s = serviceSeries();
  return s ? Response.json(s, { headers }) : Response.json({ error: "no embedded SIP server in this process" }, { status: 404, headers });
}
export const adminLists = () => listDepartmentLists(db());
export const adminList = (address: string) => getDepartmentList(db(), address).catch((e: unknown) => (e instanceof AccountError ? null : Promise.reject(e)));

/**
 * Run a console action: the session must be an admin's (re-read from the database), the input
 * valid; expected failures (AccountError) become the message, anything else a generic one.
 */
export async function runAdminAction<S extends z.ZodType, T>(
  schema: S,
  input: unknown,
  fn: (data: z.infer<S>, ctx: { admin: HeraldUser; actor: Actor }) => Promise<T>,
): Promise<ActionResult<T>> {
  const admin = await currentUser();
  if (!admin) return { ok: false, code: "unauthenticated", error: "Your session has ended. Sign in again." };
  if (admin.role !== "admin") return { ok: false, code: "forbidden", error: "Only operators may do this." };
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, code: "invalid-input", error: `${issue.path.join(".") || "input"}: ${issue.message}` };
  }
  const ip = (await headers()).get(CLIENT_IP_HEADER);
  try {
    return { ok: true, data: await fn(parsed.data, { admin, actor: { actor: `admin:${admin.address}`, ip } }) };
  } catch (err) {
    if (err instanceof AccountError) return { ok: false, code: err.code, error: err.message };
    return failure(err);
  }
}

interface Ctx {
  admin: HeraldUser;
  actor: Actor;
}

/** An operator does not lock themself out from the console (the CLI still can). */
function notSelf(target: string, admin: { address: string }, what: string) {
  if (target.trim().replace(/^sip:/i, "").toLowerCase() === admin.address.toLowerCase()) throw new AccountError("invalid-value", `You cannot ${what} your own account here.`);
}

/** The console's changes (each audited as the admin, with the client address). */
export const consoleOps = {
  /** A blank password: Herald makes one, returned once for the operator to pass on. */
  async createAccount(d: { address: string; password?: string; displayName?: string; role?: Role }, { actor }: Ctx): Promise<{ account: AccountView; password: string | null }> {
    const generated = d.password ? null : generatePassword();
    const account = await addAccount(db(), { address: d.address, password: d.password || (generated as string), displayName: d.displayName, role: d.role, actor });
    return { account, password: generated };
  },
  async rename(d: { address: string; displayName: string }, { actor }: Ctx): Promise<null> {
    await changeDisplayName(db(), d.address, d.displayName, actor);
    return null;
  },
  /** A new random password, returned once; the account's sessions end. */
  async resetPassword(address: string, { actor }: Ctx): Promise<{ password: string }> {
    const password = generatePassword();
    await setPassword(db(), address, password, actor);
    return { password };
  },
  async setDisabled(d: { address: string; disabled: boolean }, { admin, actor }: Ctx): Promise<null> {
    if (d.disabled) notSelf(d.address, admin, "disable");
    await setDisabled(db(), d.address, d.disabled, actor);
    return null;
  },
  async setRole(d: { address: string; role: Role }, { admin, actor }: Ctx): Promise<null> {
    if (d.role !== "admin") notSelf(d.address, admin, "demote");
    await setRole(db(), d.address, d.role, actor);
    return null;
  },
  async deleteAccount(address: string, { admin, actor }: Ctx): Promise<null> {
    notSelf(address, admin, "delete");
    await deleteAccount(db(), address, actor);
    return null;
  },
  async addDomain(d: { name: string; realm?: string }, { actor }: Ctx): Promise<{ name: string }> {
    return { name: (await addDomain(db(), d.name, { realm: d.realm, actor })).name };
  },
  editDomain: (d: { name: string; realm?: string; enabled?: boolean }, { actor }: Ctx): Promise<DomainView> => updateDomain(db(), d.name, { realm: d.realm, enabled: d.enabled }, actor),
  importCsv: async (d: { text: string; dryRun: boolean }, { actor }: Ctx): Promise<ImportReport> => importAccounts(db(), d.text, { dryRun: d.dryRun, actor }),
  /** A virtual presentity's presence; the first one creates it (watchable by every user of its domain). */
  async setPresentityPresence(d: { address: string } & PresenceInput, { actor }: Ctx): Promise<{ address: string; created: boolean }> {
    const { address, ...presence } = d;
    const r = await virtualPresentities().setPresence(address, presence, actor);
    return { address: r.presentity.address, created: r.created };
  },
  async setPresentityWatchers(d: { address: string } & Watchers, { actor }: Ctx): Promise<null> {
    await virtualPresentities().setWatchers(d.address, { domains: d.domains, addresses: d.addresses }, actor);
    return null;
  },
  async deletePresentity(address: string, { actor }: Ctx): Promise<null> {
    await virtualPresentities().remove(address, actor);
    return null;
  },
  /** The user's permanent status (pidf-manipulation); null or blank clears it. */
  async setPermanentStatus(d: { address: string; status: string | null }, { actor }: Ctx): Promise<null> {
    const account = await getAccount(db(), d.address);
    if (!account) throw new AccountError("unknown-account", `no account ${d.address}`);
    const status = d.status?.trim() || null;
    await setPermanentStatus(account.address, status);
    await audit(db(), { ...actorOf(actor), action: "account.permanent-status", target: account.address, detail: status === null ? "cleared" : `status=${status}` });
    return null;
  },

  // live state (the embedded SIP server of this process), each audited
  endRegistration: (d: { address: string; contact: string }, ctx: Ctx) =>
    liveAction(ctx, d.address, "live.registration.end", `contact=${d.contact}`, () => liveStateActions.endRegistration(d.address, d.contact), "That registration has already ended."),
  terminateSubscription: (d: { address: string; id: string }, ctx: Ctx) =>
    liveAction(ctx, d.address, "live.subscription.terminate", `id=${d.id}`, () => liveStateActions.terminateSubscription(d.address, d.id), "That subscription has already ended."),
  clearPublication: (d: { address: string; etag: string }, ctx: Ctx) =>
    liveAction(ctx, d.address, "live.publication.clear", `etag=${d.etag}`, () => liveStateActions.clearPublication(d.address, d.etag), "That publication is already gone."),

  // department lists
  createList: (d: { address: string; displayName?: string; members: MemberInput[] }, { actor }: Ctx) => createDepartmentList(db(), d, { actor, maxMembers: config().LIST_MAX_MEMBERS }),
  editList: (d: { address: string; displayName: string; members: MemberInput[] }, { actor }: Ctx) =>
    updateDepartmentList(db(), d.address, { displayName: d.displayName, members: d.members }, { actor, maxMembers: config().LIST_MAX_MEMBERS }),
  async deleteList(address: string, { actor }: Ctx): Promise<null> {
    await deleteDepartmentList(db(), address, { actor });
    return null;
  },
};

/** Run a live-state action for `address` (an account), audit it when it did something. */
async function liveAction(ctx: Ctx, address: string, action: string, detail: string, act: () => LiveActionOutcome, gone: string): Promise<null> {
  const account = await getAccount(db(), address);
  if (!account) throw new AccountError("unknown-account", `no account ${address}`);
  const outcome = act();
  if (outcome === "no-server") throw new AccountError("invalid-value", "This portal process runs no embedded SIP server: live state cannot be changed here.");
  if (outcome === "gone") throw new AccountError("invalid-value", gone);
  await audit(db(), { ...actorOf(ctx.actor), action, target: account.address, detail });
  return null;
}
