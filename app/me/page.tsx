import type { Metadata } from "next";
import { AppHeader } from "@/components/app-header";
import { DisplayNameForm } from "@/components/my-presence/display-name-form";
import { IconEditor } from "@/components/my-presence/icon-editor";
import { MyStatusForm } from "@/components/my-presence/my-status-form";
import { DefaultPolicyForm, OfflineStatusForm, PermanentStatusNotice, WatchersPanel } from "@/components/my-presence/privacy-forms";
import { ConnectionBanner } from "@/components/presence/connection-banner";
import { ImPolicyForm } from "@/components/chat/im-policy-form";
import { getImPolicy } from "@/lib/portal/instant-messages";
import { saveImPolicy } from "../chat-actions";
import { PresenceProvider } from "@/components/presence/presence-client-context";
import { issuePageSipCredentials } from "@/lib/portal/sip-credentials";
import { config } from "@/lib/config";
import { requireUser } from "@/lib/portal/session";
import { addressBookFor, getIcon, getOfflineStatus, getPermanentStatus, MAX_ICON_BYTES, publicXcapRoot } from "@/lib/portal/presence-documents";
import { setUriPolicy } from "../actions";
import { clearPermanentStatus, deleteIcon, deleteOfflineStatus, saveDisplayName, saveOfflineStatus, setDefaultPolicy, uploadIcon } from "./actions";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "My Presence — Herald" };

function Card({ id, title, children }: { id: string; title: string; children: React.ReactNode }) {
  return (
    <section aria-labelledby={id} className="rounded-lg border border-slate-200 bg-white p-5">
      <h2 id={id} className="text-base font-semibold">
        {title}
      </h2>
      <div className="mt-3">{children}</div>
    </section>
  );
}

export default async function MyPresencePage() {
  const user = await requireUser("/me");
  const c = config();
  // im-rules are Herald's own usage, read by the embedded server: an operator's SIP and XCAP
  // servers (Kamailio, OpenSIPS) know neither the document nor the setting
  const imRulesServed = c.SIP_EMBEDDED && !c.XCAP_SERVER_URL;
  const [book, offline, permanent, icon, sip, imPolicy] = await Promise.all([
    addressBookFor(user.address).then((b) => b.load()),
    getOfflineStatus(user.address),
    getPermanentStatus(user.address),
    getIcon(user.address),
    issuePageSipCredentials(user),
    imRulesServed ? getImPolicy(user.address) : null,
  ]);
  const xcap = { publicRoot: publicXcapRoot(), localPath: c.XCAP_SERVER_URL ? null : c.XCAP_ROOT_PATH, publicUrlKnown: Boolean(c.PUBLIC_URL || c.XCAP_SERVER_URL) };
  const names: Record<string, string> = {};
  for (const p of book.policies) if (p.name) names[p.uri] = p.name;
  for (const ct of book.contacts) for (const u of ct.uris) if (ct.name) names[u.uri] = ct.name;
  return (
    <PresenceProvider address={user.address} iconUrl={icon?.publishedUrl ?? null} xcap={xcap} autoAwayMinutes={c.AUTO_AWAY_MINUTES} credentials={sip.ok ? sip.credentials : null}>
      <AppHeader address={user.address} isAdmin={user.role === "admin"} current="/me" />
      <main className="mx-auto max-w-5xl px-4 py-6">
        <ConnectionBanner />
        <h1 className="text-xl font-semibold">My Presence</h1>
        <p className="mt-1 text-sm text-slate-600">What your contacts see about you, and who may see it.</p>
        <div className="mt-4 grid gap-4 lg:grid-cols-[3fr_2fr]">
          <div className="space-y-4">
            {permanent !== null ? (
              <Card id="permanent-heading" title="From your operator">
                <PermanentStatusNotice initial={permanent} clearPermanentStatus={clearPermanentStatus} />
              </Card>
            ) : null}
            <Card id="status-heading" title="Status">
              <DisplayNameForm initial={user.name ?? ""} maxLength={c.DISPLAY_NAME_MAX_CHARS} saveDisplayName={saveDisplayName} />
              <div className="mt-4">
                <MyStatusForm autoAwayMinutes={c.AUTO_AWAY_MINUTES} noteMax={c.NOTE_MAX_CHARS} />
              </div>
            </Card>
            <Card id="icon-heading" title="Your picture">
              <IconEditor name={user.name || user.address} initial={icon?.dataUrl ?? null} xcap={xcap} actions={{ uploadIcon, deleteIcon }} maxBytes={MAX_ICON_BYTES} />
            </Card>
            <Card id="offline-heading" title="When I am offline">
              <OfflineStatusForm initial={offline} actions={{ saveOfflineStatus, deleteOfflineStatus }} />
            </Card>
          </div>
          <div className="space-y-4">
            <Card id="policy-heading" title="New watchers">
              <DefaultPolicyForm initial={book.defaultPolicy} setDefaultPolicy={setDefaultPolicy} />
            </Card>
            <Card id="watchers-heading" title="Who can see me">
              <WatchersPanel self={`sip:${user.address}`} initialBlocked={book.presence.blocked} names={names} actions={{ setUriPolicy }} />
            </Card>
            {imPolicy !== null ? (
              <Card id="im-policy-heading" title="Who may message me">
                <ImPolicyForm initial={imPolicy} save={saveImPolicy} />
              </Card>
            ) : null}
          </div>
        </div>
      </main>
    </PresenceProvider>
  );
}
