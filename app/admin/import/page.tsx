import { AdminShell } from "@/components/admin/admin-shell";
import { ImportForm } from "@/components/admin/import-form";
import { requireAdmin } from "@/lib/portal/session";
import { importCsv } from "../actions";

export const dynamic = "force-dynamic";

export default async function AdminImportPage() {
  const user = await requireAdmin("/admin/import");
  return (
    <AdminShell address={user.address} section="import" title="Import accounts">
      <ImportForm importCsv={importCsv} />
    </AdminShell>
  );
}
