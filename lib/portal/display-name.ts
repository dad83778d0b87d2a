/**
 * A display-name change, from My Presence, the console or the API: the account changes, and the
 * entries other users keep for this person follow when they carry no name of their own or still
 * the old display name (a name someone typed themselves stays theirs). Each such address book is
 * edited through its owner's XCAP view, so the owner's open pages and Blink see the change
 * (xcap-diff). Only on Herald's embedded XCAP server: an operator's XCAP server cannot be
 * searched for who lists whom. The published PIDF's CIPID display-name follows on the user's
 * pages (they publish the account's name).
 */
import "server-only";
import { getAccount, setDisplayName, type AccountView, type Actor } from "../accounts/service";
import { config } from "../config";
import type { Db } from "../db";
import { canonicalAor } from "../sip/aor";
import { AUID } from "../presence/namespaces";
import { addressBookFor } from "./presence-documents";

export async function changeDisplayName(db: Db, address: string, name: string | null, actor?: Actor): Promise<AccountView> {
  const before = await getAccount(db, address);
  const after = await setDisplayName(db, address, name, actor);
  if (before && before.displayName !== after.displayName) await followInAddressBooks(db, after.address, before.displayName, after.displayName);
  return after;
}

/** Rename the entries for `address` in other users' address books that still show the old name or none. */
export async function followInAddressBooks(db: Db, address: string, previous: string | null, next: string | null): Promise<number> {
  if (config().XCAP_SERVER_URL) return 0;
  const aor = `sip:${address}`;
  const docs = await db.xcapDocument.findMany({ where: { auid: AUID.resourceLists, scope: "users", content: { contains: aor } }, select: { xui: true } });
  let renamed = 0;
  for (const { xui } of docs) {
    const owner = xui.replace(/^sips?:/, "");
    if (owner === address) continue;
    try {
      const book = await addressBookFor(owner);
      const { contacts } = await book.load();
      for (const c of contacts) {
        if (!c.uris.some((u) => canonicalAor(u.uri) === aor)) continue;
        if (c.name && c.name !== previous) continue;
        await book.editContact(c.id, { name: next ?? "" });
        renamed++;
      }
    } catch (err) {
      // one owner's unreadable document must not undo the rename or stop the others
      process.emitWarning(`entries for ${address} in ${owner}'s address book not renamed: ${(err as Error).message}`);
    }
  }
  return renamed;
}
