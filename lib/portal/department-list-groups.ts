/**
 * A department list on a user's buddy list (ISSUE-16 item 4): "Add as a group" copies the list's
 * members into the user's address book, in one XCAP write, as a group named after the list —
 * members already among the contacts join the group, new ones are added watched (subscribe) without
 * changing who may see the user (presence policy "default"). A copy, not a live reference: the
 * address book stays Blink's format (Blink shows the same group), and each member's presence then
 * reaches the page through the user's own RLS list, under the member's own pres-rules. Adding the
 * list again brings in members added since; members removed from the list stay until the user
 * deletes them.
 */
import "server-only";
import { db } from "../db";
import { AccountError } from "../accounts/service";
import { getDepartmentList, listDepartmentLists, type DepartmentListView } from "../accounts/department-lists";
import { AddressBookError, addContact, addressIdentity, createGroup, editContact, parseResourceLists } from "../xcap/addressbook";
import { addressBookFor } from "./presence-documents";
import type { DepartmentListOffer } from "./wire-types";

const domainOf = (address: string) => address.slice(address.lastIndexOf("@") + 1).toLowerCase();

/** The department lists of `user`'s domain (what the buddy list offers to add). */
export async function departmentListsFor(user: string): Promise<DepartmentListOffer[]> {
  const lists = await listDepartmentLists(db(), { domain: domainOf(user) });
  return lists.map((l) => ({ address: l.address, name: l.displayName ?? l.address, members: l.members.length }));
}

/** Copy the list at `listAddress` into `user`'s address book as a group; returns the group's name and the contacts added. */
export async function addDepartmentListGroup(user: string, listAddress: string): Promise<{ group: string; added: number; joined: number }> {
  const list: DepartmentListView | undefined = await getDepartmentList(db(), listAddress).catch((err: unknown) => {
    if (err instanceof AccountError) return undefined;
    throw err;
  });
  if (!list || list.domain !== domainOf(user)) throw new AddressBookError("group-not-found", `There is no department list ${listAddress} for ${domainOf(user)}.`);
  const name = list.displayName ?? list.address;
  const self = addressIdentity(`sip:${user}`);
  const book = await addressBookFor(user);
  const { result } = await book.applyEdit((doc, ctx) => {
    const model = parseResourceLists(doc);
    const groupId = model.groups.find((g) => g.name === name)?.id ?? createGroup(doc, { name }).id;
    let added = 0;
    let joined = 0;
    for (const m of list.members) {
      const uri = `sip:${m.address}`;
      if (addressIdentity(uri) === self) continue;
      const existing = model.contacts.find((c) => c.uris.some((u) => addressIdentity(u.uri) === addressIdentity(uri)));
      if (existing) {
        if (existing.groups.includes(groupId)) continue;
        editContact(doc, ctx, existing.id, { groups: [...existing.groups, groupId] });
        joined++;
      } else {
        addContact(doc, ctx, { ...(m.displayName ? { name: m.displayName } : {}), uris: [uri], groups: [groupId], presence: { policy: "default", subscribe: true } });
        added++;
      }
    }
    return { group: name, added, joined };
  });
  return result!;
}
