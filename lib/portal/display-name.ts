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
import { cleanDisplayName, getAccount, setDisplayName, type AccountView, type Actor } from "../accounts/service";
import { config } from "../config";
import type { Db } from "../db";
import { canonicalAor } from "../sip/aor";
import { AUID } from "../presence/namespaces";
import { addressBookFor } from "./presence-documents";
import { processWide } from "../process-wide";
import { RateWindow } from "../accounts/rate-window";

/** A user renaming themselves too often: each rename rewrites the entries other users keep. */
export class DisplayNameRateError extends Error {
  readonly code = "rate-limited";
  constructor(readonly retryAfterSeconds: number) {
    super(`You changed your name too often. Try again in ${retryAfterSeconds < 120 ? `${retryAfterSeconds} seconds` : `${Math.ceil(retryAfterSeconds / 60)} minutes`}.`);
    this.name = "DisplayNameRateError";
  }
}

/**
 * A user's own rename (My Presence): at most DISPLAY_NAME_CHANGES_PER_HOUR a hour per account, since
 * every rename edits the address books of everyone who lists them (and notifies their pages); one
 * beyond the limit changes nothing. Operators (console, API) rename without this bound.
 */
export function changeOwnDisplayName(db: Db, address: string, name: string | null): Promise<AccountView> {
  return changeDisplayName(db, address, name, address, { bounded: true });
}

/** `bounded`: a user's own rename, counted against DISPLAY_NAME_CHANGES_PER_HOUR (see changeOwnDisplayName). */
export async function changeDisplayName(db: Db, address: string, name: string | null, actor?: Actor, opts: { bounded?: boolean } = {}): Promise<AccountView> {
  const before = await getAccount(db, address);
  // saving the name one already has is no rename: nothing is counted or rewritten
  if (opts.bounded && before && before.displayName !== cleanDisplayName(name)) {
    const max = config().DISPLAY_NAME_CHANGES_PER_HOUR;
    const renames = processWide(`__heraldDisplayNameRenames:${max}`, () => new RateWindow({ max, windowMs: 3_600_000 }));
    const decision = renames.take(canonicalAor(`sip:${address}`));
    if (!decision.allowed) throw new DisplayNameRateError(decision.retryAfterSeconds);
  }
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
