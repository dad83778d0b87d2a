import { notFound } from "next/navigation";
import { AdminShell } from "@/components/admin/admin-shell";
import { AccountEditor } from "@/components/admin/account-editor";
import { muted } from "@/components/admin/styles";
import { LiveStatePanel } from "@/components/admin/live-state-panel";
import { PermanentStatusForm } from "@/components/admin/permanent-status-form";
import { adminAccount, adminLiveState, adminPermanentStatus } from "@/lib/portal/admin";
import { requireAdmin } from "@/lib/portal/session";
import { clearPublication, endRegistration, removeAccount, renameAccount, resetPassword, saveAccountPermanentStatus, setAccountDisabled, setAccountRole, terminateSubscription } from "../../actions";

export const dynamic = "force-dynamic";

export default async function AdminAccountPage({ params }: { params: Promise<{ address: string }> }) {
  const { address: raw } = await params;
  const address = decodeURIComponent(raw);
  const user = await requireAdmin(`/admin/accounts/${encodeURIComponent(address)}`);
  const account = await adminAccount(address);
  if (!account) notFound();
  return (
    <AdminShell address={user.address} section="accounts" title={account.address}>
      <p className={`mt-1 text-sm ${muted}`} data-testid="account-summary">
        {account.displayName ?? "No display name"} · {account.role} · {account.disabled ? "✕ disabled" : "✓ active"}
      </p>
      <AccountEditor account={account} actions={{ renameAccount, setAccountRole, setAccountDisabled, resetPassword, removeAccount }} />
      <PermanentStatusForm address={account.address} initial={await adminPermanentStatus(account.address)} save={saveAccountPermanentStatus} />
      <LiveStatePanel address={account.address} state={adminLiveState(account.address)} actions={{ endRegistration, terminateSubscription, clearPublication }} />
    </AdminShell>
  );
}
