import { notFound } from "next/navigation";
import { AdminShell } from "@/components/admin/admin-shell";
import { PresentityEditor } from "@/components/admin/presentity-forms";
import { muted } from "@/components/admin/styles";
import { AVAILABILITY_LABEL } from "@/components/presence/status-indicator";
import { adminPresentity } from "@/lib/portal/admin";
import { requireAdmin } from "@/lib/portal/session";
import { removePresentity, savePresentityPresence, savePresentityWatchers } from "../../actions";
import { watchersText } from "@/components/admin/presentity-summary";

export const dynamic = "force-dynamic";

export default async function AdminPresentityPage({ params }: { params: Promise<{ address: string }> }) {
  const { address: raw } = await params;
  const address = decodeURIComponent(raw);
  const user = await requireAdmin(`/admin/presentities/${encodeURIComponent(address)}`);
  const p = await adminPresentity(address).catch(() => null);
  if (!p) notFound();
  const row = { address: p.address, availability: p.availability, note: p.note, watchers: p.watchers, updatedAt: p.updatedAt.toISOString() };
  return (
    <AdminShell address={user.address} section="presentities" title={p.address}>
      <p className={`mt-1 text-sm ${muted}`} data-testid="presentity-summary">
        {AVAILABILITY_LABEL[p.availability]}
        {p.note ? ` · ${p.note}` : ""} · watched by {watchersText(p.watchers)}
      </p>
      <PresentityEditor presentity={row} actions={{ savePresentityPresence, savePresentityWatchers, removePresentity }} />
    </AdminShell>
  );
}
