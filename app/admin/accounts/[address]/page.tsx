import { notFound } from "next/navigation";
import { AdminShell } from "@/components/admin/admin-shell";
import { AccountEditor } from "@/components/admin/account-editor";
import { muted } from "@/components/admin/styles";
import { LiveStatePanel } from "@/components/admin/live-state-panel";
import { adminAccount, adminLiveState } from "@/lib/portal/admin";
import { requireAdmin } from "@/lib/portal/session";
import { clearPublication, endRegistration, removeAccount, renameAccount, resetPassword, setAccountDisabled, setAccountRole, terminateSubscription } from "../../actions";

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
      <LiveStatePanel address={account.address} state={adminLiveState(account.address)} actions={{ endRegistration, terminateSubscription, clearPublication }} />
    </AdminShell>
  );
}
