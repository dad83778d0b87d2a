import type { Metadata } from "next";
import { AppHeader } from "@/components/app-header";
import { DisplayNameForm } from "@/components/my-presence/display-name-form";
import { MyStatusForm } from "@/components/my-presence/my-status-form";
import { PermanentStatusNotice } from "@/components/my-presence/privacy-forms";
import { Card } from "@/components/my-presence/card";
import { MyPresenceDocumentsView } from "@/components/my-presence/my-presence-documents";
import { ConnectionBanner } from "@/components/presence/connection-banner";
import { saveImPolicy } from "../chat-actions";
import { PresenceProvider } from "@/components/presence/presence-client-context";
import { issuePageSipCredentials } from "@/lib/portal/sip-credentials";
import { config } from "@/lib/config";
import { requireUser } from "@/lib/portal/session";
import { loadMyPresenceDocuments } from "@/lib/portal/my-presence";
import { getPermanentStatus, MAX_ICON_BYTES, publicXcapRoot } from "@/lib/portal/presence-documents";
import { setUriPolicy } from "../actions";
import { clearPermanentStatus, deleteIcon, deleteOfflineStatus, reloadMyPresence, saveDisplayName, saveOfflineStatus, setDefaultPolicy, uploadIcon } from "./actions";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "My Presence — Herald" };

export default async function MyPresencePage() {
  const user = await requireUser("/me");
  const c = config();
  const [docs, sip, permanent] = await Promise.all([loadMyPresenceDocuments(user.address), issuePageSipCredentials(user), getPermanentStatus(user.address)]);
  const xcap = { publicRoot: publicXcapRoot(), localPath: c.XCAP_SERVER_URL ? null : c.XCAP_ROOT_PATH, publicUrlKnown: Boolean(c.PUBLIC_URL || c.XCAP_SERVER_URL) };
  return (
    <PresenceProvider address={user.address} iconUrl={docs.iconPublishedUrl} xcap={xcap} autoAwayMinutes={c.AUTO_AWAY_MINUTES} credentials={sip.ok ? sip.credentials : null}>
      <AppHeader address={user.address} isAdmin={user.role === "admin"} current="/me" />
      <main className="mx-auto max-w-5xl px-4 py-6">
        <ConnectionBanner />
        <h1 className="text-xl font-semibold">My Presence</h1>
        <p className="mt-1 text-sm text-slate-600">What your contacts see about you, and who may see it.</p>
        {permanent !== null ? (
          <div className="mt-4">
            <Card id="permanent-heading" title="From your operator">
              <PermanentStatusNotice initial={permanent} clearPermanentStatus={clearPermanentStatus} />
            </Card>
          </div>
        ) : null}
        <MyPresenceDocumentsView
          initial={docs}
          self={`sip:${user.address}`}
          name={user.name || user.address}
          xcap={xcap}
          maxIconBytes={MAX_ICON_BYTES}
          actions={{ reload: reloadMyPresence, uploadIcon, deleteIcon, saveOfflineStatus, deleteOfflineStatus, setDefaultPolicy, setUriPolicy, saveImPolicy }}
          status={
            <Card id="status-heading" title="Status">
              <DisplayNameForm initial={user.name ?? ""} maxLength={c.DISPLAY_NAME_MAX_CHARS} saveDisplayName={saveDisplayName} />
              <div className="mt-4">
                <MyStatusForm autoAwayMinutes={c.AUTO_AWAY_MINUTES} noteMax={c.NOTE_MAX_CHARS} />
              </div>
            </Card>
          }
        />
      </main>
    </PresenceProvider>
  );
}
