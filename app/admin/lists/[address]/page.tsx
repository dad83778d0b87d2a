import { notFound } from "next/navigation";
import { AdminShell } from "@/components/admin/admin-shell";
import { DepartmentListForm } from "@/components/admin/department-list-form";
import { card, muted } from "@/components/admin/styles";
import { adminList } from "@/lib/portal/admin";
import { requireAdmin } from "@/lib/portal/session";
import { editList, removeList } from "../../actions";

export const dynamic = "force-dynamic";

export default async function AdminListPage({ params }: { params: Promise<{ address: string }> }) {
  const { address: raw } = await params;
  const address = decodeURIComponent(raw);
  const user = await requireAdmin(`/admin/lists/${encodeURIComponent(address)}`);
  const list = await adminList(address);
  if (!list) notFound();
  return (
    <AdminShell address={user.address} section="lists" title={list.address}>
      <p className={`mt-1 text-sm ${muted}`} data-testid="list-summary">
        {list.displayName ?? "No display name"} · {list.members.length} members · users of {list.domain} subscribe to sip:{list.address}
      </p>
      <section aria-labelledby="edit-list" className={`mt-4 ${card}`}>
        <h2 id="edit-list" className="text-base font-semibold">Name and members</h2>
        <div className="mt-3">
          <DepartmentListForm list={list} actions={{ save: editList, remove: removeList }} />
        </div>
      </section>
    </AdminShell>
  );
}
