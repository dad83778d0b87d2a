import { AppHeader } from "@/components/app-header";
import type { Metadata } from "next";
import { BuddyList } from "@/components/buddy-list/buddy-list";
import { ChatDock } from "@/components/chat/chat-context";
import { MyStatusBar } from "@/components/buddy-list/my-status-bar";
import { ConnectionBanner } from "@/components/presence/connection-banner";
import { PresenceProvider } from "@/components/presence/presence-client-context";
import { issuePageSipCredentials } from "@/lib/portal/sip-credentials";
import { config } from "@/lib/config";
import { requireUser } from "@/lib/portal/session";
import { addressBookFor, getIcon, publicXcapRoot, renderedAddressBook } from "@/lib/portal/presence-documents";
import {
  acceptWatcher,
  addContact,
  addDepartmentList,
  createGroup,
  deleteContact,
  deleteGroup,
  editContact,
  loadAddressBook,
  moveContact,
  renameGroup,
  setUriPolicy,
} from "./actions";
import { loadConversation, markRead } from "./chat-actions";
import { unreadConversations } from "@/lib/portal/instant-messages";
import { DepartmentListsCard } from "@/components/buddy-list/department-lists-card";
import { departmentListsFor } from "@/lib/portal/department-list-groups";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Buddy list — Herald" };

const actions = { loadAddressBook, addContact, editContact, deleteContact, moveContact, createGroup, renameGroup, deleteGroup, setUriPolicy, acceptWatcher };

export default async function Home() {
  const user = await requireUser("/");
  const c = config();
  const [book, icon, sip, departmentLists, unread] = await Promise.all([
    addressBookFor(user.address).then((b) => b.load()),
    getIcon(user.address),
    issuePageSipCredentials(user),
    departmentListsFor(user.address),
    unreadConversations(user.address),
  ]);
  // the page gets the model, and its client the ETags it was rendered from (for xcap-diff)
  const { etags, ...model } = book;
  const xcap = { publicRoot: publicXcapRoot(), localPath: c.XCAP_SERVER_URL ? null : c.XCAP_ROOT_PATH, publicUrlKnown: Boolean(c.PUBLIC_URL || c.XCAP_SERVER_URL) };
  return (
    <PresenceProvider address={user.address} iconUrl={icon?.publishedUrl ?? null} xcap={xcap} autoAwayMinutes={c.AUTO_AWAY_MINUTES} credentials={sip.ok ? sip.credentials : null} renderedDocuments={renderedAddressBook(user.address, etags)}>
      <ChatDock actions={{ loadConversation, markRead }} unread={unread} names={Object.fromEntries(model.contacts.flatMap((ct) => (ct.name ? ct.uris.map((u) => [u.uri, ct.name]) : [])))}>
      <AppHeader address={user.address} isAdmin={user.role === "admin"} current="/" />
      <main className="mx-auto max-w-5xl px-2 py-4 sm:px-4 sm:py-6">
        <ConnectionBanner />
        <h1 className="text-xl font-semibold">Buddy list</h1>
        <p className="mt-1 text-sm text-slate-600">
          Signed in as <span data-testid="home-address">{user.address}</span>
        </p>
        <section aria-label="Buddy list" data-testid="buddy-list" className="mt-4 rounded-lg border border-slate-200 bg-white">
          <MyStatusBar address={user.address} name={user.name || user.address} xcap={xcap} noteMax={c.NOTE_MAX_CHARS} />
          <BuddyList self={`sip:${user.address}`} initialModel={model} actions={actions} xcap={xcap} />
        </section>
        <DepartmentListsCard lists={departmentLists} addDepartmentList={addDepartmentList} />
      </main>
      </ChatDock>
    </PresenceProvider>
  );
}
