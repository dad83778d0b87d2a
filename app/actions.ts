"use server";
/** Buddy-list server actions: every change is an XCAP write of the user's own documents. */
import { z } from "zod";
import { runAction } from "@/lib/portal/action-result";
import type { ActionResult } from "@/lib/portal/wire-types";
import { addressBookFor } from "@/lib/portal/presence-documents";
import { addressIdentity, type AddressBookModel, type Contact, type Group } from "@/lib/xcap/addressbook";
import { sipAddressInput as sipUri } from "@/lib/portal/address-input";
import { addDepartmentListGroup } from "@/lib/portal/department-list-groups";

const id = z.string().min(1).max(128);
const name = z.string().trim().max(128);
const handling = z.object({ policy: z.enum(["allow", "block", "default"]).optional(), subscribe: z.boolean().optional() });

const contactInput = z.object({
  name: name.optional(),
  uris: z.array(sipUri).min(1).max(10),
  groups: z.array(id).max(50).optional(),
  presence: handling.optional(),
});

export async function loadAddressBook(): Promise<ActionResult<AddressBookModel>> {
  return runAction(z.undefined(), undefined, async (user) => (await addressBookFor(user.address)).load());
}

export async function addContact(input: z.input<typeof contactInput>): Promise<ActionResult<Contact>> {
  return runAction(contactInput, input, async (user, d) => (await addressBookFor(user.address)).addContact(d));
}

export async function editContact(contactId: string, input: Partial<z.input<typeof contactInput>>): Promise<ActionResult<Contact>> {
  return runAction(z.object({ id, patch: contactInput.partial() }), { id: contactId, patch: input }, async (user, d) =>
    (await addressBookFor(user.address)).editContact(d.id, d.patch),
  );
}

export async function deleteContact(contactId: string): Promise<ActionResult<null>> {
  return runAction(id, contactId, async (user, d) => {
    await (await addressBookFor(user.address)).deleteContact(d);
    return null;
  });
}

export async function moveContact(contactId: string, toGroup: string | null, fromGroup?: string | null): Promise<ActionResult<Contact>> {
  return runAction(
    z.object({ id, to: id.nullable(), from: id.nullable().optional() }),
    { id: contactId, to: toGroup, from: fromGroup },
    async (user, d) => (await addressBookFor(user.address)).moveContact(d.id, d.to, d.from),
  );
}

export async function createGroup(groupName: string): Promise<ActionResult<Group>> {
  return runAction(name.min(1), groupName, async (user, d) => (await addressBookFor(user.address)).createGroup({ name: d }));
}

export async function renameGroup(groupId: string, groupName: string): Promise<ActionResult<Group>> {
  return runAction(z.object({ id, name: name.min(1) }), { id: groupId, name: groupName }, async (user, d) =>
    (await addressBookFor(user.address)).renameGroup(d.id, d.name),
  );
}

export async function deleteGroup(groupId: string): Promise<ActionResult<null>> {
  return runAction(id, groupId, async (user, d) => {
    await (await addressBookFor(user.address)).deleteGroup(d);
    return null;
  });
}

/** Allow (and, for a new watcher, add as a contact with subscribe), block or unblock a URI. */
export async function setUriPolicy(uri: string, action: "allow" | "block" | "unblock"): Promise<ActionResult<null>> {
  return runAction(z.object({ uri: sipUri, action: z.enum(["allow", "block", "unblock"]) }), { uri, action }, async (user, d) => {
    const book = await addressBookFor(user.address);
    if (d.action === "allow") await book.allowUri(d.uri);
    else if (d.action === "block") await book.blockUri(d.uri);
    else await book.unblockUri(d.uri);
    return null;
  });
}

/** Accept a watcher request: add them as a contact who may see me and whom I watch. */
export async function acceptWatcher(uri: string, contactName?: string): Promise<ActionResult<Contact>> {
  return runAction(z.object({ uri: sipUri, name: name.optional() }), { uri, name: contactName }, async (user, d) => {
    const book = await addressBookFor(user.address);
    const model = await book.load();
    const existing = model.contacts.find((c) => c.uris.some((u) => addressIdentity(u.uri) === addressIdentity(d.uri)));
    if (existing) return book.editContact(existing.id, { presence: { policy: "allow", subscribe: true } });
    return book.addContact({ name: d.name, uris: [d.uri], presence: { policy: "allow", subscribe: true } });
  });
}

/** Copy a department list of the user's domain into the address book as a group (lib/portal/department-list-groups). */
export async function addDepartmentList(listAddress: string): Promise<ActionResult<{ group: string; added: number; joined: number }>> {
  return runAction(z.string().trim().min(3).max(320), listAddress, (user, d) => addDepartmentListGroup(user.address, d));
}
