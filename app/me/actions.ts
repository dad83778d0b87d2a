"use server";
/** My Presence server actions: offline status, icon and the default policy, all in XCAP. */
import { z } from "zod";
import { runAction } from "@/lib/portal/action-result";
import type { ActionResult, MyPresenceDocuments } from "@/lib/portal/wire-types";
import { loadMyPresenceDocuments } from "@/lib/portal/my-presence";
import { changeOwnDisplayName } from "@/lib/portal/display-name";
import { audit } from "@/lib/accounts/service";
import { config } from "@/lib/config";
import { db } from "@/lib/db";
import {
  addressBookFor,
  clearOfflineStatus,
  MAX_ICON_BYTES,
  removeIcon,
  setIcon,
  setOfflineStatus,
  setPermanentStatus,
} from "@/lib/portal/presence-documents";

/** My Presence's documents again: the open page calls this when xcap-diff says one changed elsewhere. */
export async function reloadMyPresence(): Promise<ActionResult<MyPresenceDocuments>> {
  return runAction(z.undefined(), undefined, (user) => loadMyPresenceDocuments(user.address));
}

export async function saveOfflineStatus(note: string): Promise<ActionResult<null>> {
  return runAction(z.string().trim().max(500), note, async (user, d) => {
    await setOfflineStatus(user.address, d);
    return null;
  });
}

export async function deleteOfflineStatus(): Promise<ActionResult<null>> {
  return runAction(z.undefined(), undefined, async (user) => {
    await clearOfflineStatus(user.address);
    return null;
  });
}

/** The user clears the permanent status their operator set (audited: the operator set it). */
export async function clearPermanentStatus(): Promise<ActionResult<null>> {
  return runAction(z.undefined(), undefined, async (user) => {
    await setPermanentStatus(user.address, null);
    await audit(db(), { actor: user.address, action: "account.permanent-status", target: user.address, detail: "cleared by the user" });
    return null;
  });
}

export async function uploadIcon(form: FormData): Promise<ActionResult<{ url: string; mimeType: string }>> {
  const file = form.get("icon");
  return runAction(
    z.instanceof(Blob, { message: "choose a picture" }).refine((f) => f.size <= MAX_ICON_BYTES, `must be at most ${MAX_ICON_BYTES / 1024} KiB`),
    file,
    async (user, f) => setIcon(user.address, new Uint8Array(await f.arrayBuffer())),
  );
}

export async function deleteIcon(): Promise<ActionResult<null>> {
  return runAction(z.undefined(), undefined, async (user) => {
    await removeIcon(user.address);
    return null;
  });
}

export async function setDefaultPolicy(policy: "allow" | "confirm" | "block" | "polite-block"): Promise<ActionResult<null>> {
  return runAction(z.enum(["allow", "confirm", "block", "polite-block"]), policy, async (user, d) => {
    await (await addressBookFor(user.address)).setDefaultPolicy(d);
    return null;
  });
}

/** The account's display name (what the portal shows and the browser publishes as CIPID display-name). */
export async function saveDisplayName(name: string): Promise<ActionResult<{ displayName: string | null }>> {
  const max = config().DISPLAY_NAME_MAX_CHARS;
  return runAction(z.string().trim().max(max, `must be at most ${max} characters`), name, async (user, d) => {
    const acc = await changeOwnDisplayName(db(), user.address, d);
    return { displayName: acc.displayName };
  });
}
