"use server";
/** Operator console actions: each checks the admin session and validates, then one call into lib/portal/admin. */
import { z } from "zod";
import type { ActionResult } from "@/lib/portal/wire-types";
import { consoleOps, runAdminAction } from "@/lib/portal/admin";
import { MAX_DISPLAY_NAME, type AccountView, type DomainView } from "@/lib/accounts/service";
import { MAX_IMPORT_BYTES, type ImportReport } from "@/lib/accounts/csv-import";
import type { DepartmentListView } from "@/lib/accounts/department-lists";

const address = z.string().trim().min(3).max(320);
const role = z.enum(["user", "admin"]);
const domainName = z.string().trim().min(1).max(253);
const realm = z.string().trim().min(1).max(128);

export async function createAccount(input: { address: string; password?: string; displayName?: string; role?: "user" | "admin" }): Promise<ActionResult<{ account: AccountView; password: string | null }>> {
  const schema = z.object({ address, password: z.string().max(256).optional(), displayName: z.string().max(MAX_DISPLAY_NAME).optional(), role: role.optional() });
  return runAdminAction(schema, input, consoleOps.createAccount);
}

export async function renameAccount(target: string, displayName: string): Promise<ActionResult<null>> {
  return runAdminAction(z.object({ address, displayName: z.string().max(MAX_DISPLAY_NAME) }), { address: target, displayName }, consoleOps.rename);
}

export async function resetPassword(target: string): Promise<ActionResult<{ password: string }>> {
  return runAdminAction(address, target, consoleOps.resetPassword);
}

export async function setAccountDisabled(target: string, disabled: boolean): Promise<ActionResult<null>> {
  return runAdminAction(z.object({ address, disabled: z.boolean() }), { address: target, disabled }, consoleOps.setDisabled);
}

export async function setAccountRole(target: string, newRole: "user" | "admin"): Promise<ActionResult<null>> {
  return runAdminAction(z.object({ address, role }), { address: target, role: newRole }, consoleOps.setRole);
}

export async function removeAccount(target: string): Promise<ActionResult<null>> {
  return runAdminAction(address, target, consoleOps.deleteAccount);
}

export async function createDomain(input: { name: string; realm?: string }): Promise<ActionResult<{ name: string }>> {
  return runAdminAction(z.object({ name: domainName, realm: realm.optional() }), input, consoleOps.addDomain);
}

export async function editDomain(name: string, change: { realm?: string; enabled?: boolean }): Promise<ActionResult<DomainView>> {
  return runAdminAction(z.object({ name: domainName, realm: realm.optional(), enabled: z.boolean().optional() }), { name, ...change }, consoleOps.editDomain);
}

/** Bulk import from an uploaded CSV file (form data: `file`, `dryRun` = "on" for a dry run). */
export async function importCsv(form: FormData): Promise<ActionResult<ImportReport>> {
  const file = form.get("file");
  const schema = z.object({
    file: z.instanceof(File, { message: "choose a CSV file" }).refine((f) => f.size <= MAX_IMPORT_BYTES, `the file is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MiB`),
    dryRun: z.boolean(),
  });
  return runAdminAction(schema, { file: file instanceof File ? file : undefined, dryRun: form.get("dryRun") === "on" }, async (d, ctx) =>
    consoleOps.importCsv({ text: await d.file.text(), dryRun: d.dryRun }, ctx),
  );
}

const availability = z.enum(["available", "away", "extended-away", "busy", "offline"]);
const presenceNote = z.string().trim().max(1000);

/** A virtual presentity's presence; the first one creates it. */
export async function savePresentityPresence(target: string, presence: { availability: string; note?: string }): Promise<ActionResult<{ address: string; created: boolean }>> {
  return runAdminAction(z.object({ address, availability, note: presenceNote.optional() }), { address: target, ...presence }, consoleOps.setPresentityPresence);
}

/** Who may watch a virtual presentity: every user of `domains`, and `addresses`. */
export async function savePresentityWatchers(target: string, watchers: { domains: string[]; addresses: string[] }): Promise<ActionResult<null>> {
  const list = (item: z.ZodString) => z.array(item).max(100);
  return runAdminAction(z.object({ address, domains: list(domainName), addresses: list(address) }), { address: target, ...watchers }, consoleOps.setPresentityWatchers);
}

export async function removePresentity(target: string): Promise<ActionResult<null>> {
  return runAdminAction(address, target, consoleOps.deletePresentity);
}

/** A user's permanent status ("On leave until 3 January"); blank clears it. */
export async function saveAccountPermanentStatus(target: string, status: string): Promise<ActionResult<null>> {
  return runAdminAction(z.object({ address, status: z.string().trim().max(500) }), { address: target, status }, consoleOps.setPermanentStatus);
}

// live state of an account (the embedded SIP server of this process)
const liveTarget = { address, contact: z.string().min(1).max(1024) };

export async function endRegistration(target: string, contact: string): Promise<ActionResult<null>> {
  return runAdminAction(z.object(liveTarget), { address: target, contact }, consoleOps.endRegistration);
}

export async function terminateSubscription(target: string, id: string): Promise<ActionResult<null>> {
  return runAdminAction(z.object({ address, id: z.string().min(1).max(256) }), { address: target, id }, consoleOps.terminateSubscription);
}

export async function clearPublication(target: string, etag: string): Promise<ActionResult<null>> {
  return runAdminAction(z.object({ address, etag: z.string().min(1).max(256) }), { address: target, etag }, consoleOps.clearPublication);
}

// department lists: members are one address per line, optionally followed by a display name
const member = z.object({ address: z.string().trim().min(3).max(320), displayName: z.string().max(MAX_DISPLAY_NAME).optional() });
const listInput = z.object({ address, displayName: z.string().max(MAX_DISPLAY_NAME), members: z.array(member).max(5000) });

export async function createList(input: { address: string; displayName: string; members: Array<{ address: string; displayName?: string }> }): Promise<ActionResult<DepartmentListView>> {
  return runAdminAction(listInput, input, consoleOps.createList);
}

export async function editList(input: { address: string; displayName: string; members: Array<{ address: string; displayName?: string }> }): Promise<ActionResult<DepartmentListView>> {
  return runAdminAction(listInput, input, consoleOps.editList);
}

export async function removeList(target: string): Promise<ActionResult<null>> {
  return runAdminAction(address, target, consoleOps.deleteList);
}
