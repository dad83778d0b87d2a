import { AdminShell } from "@/components/admin/admin-shell";
import { DomainsPanel } from "@/components/admin/domains-panel";
import { adminDomains } from "@/lib/portal/admin";
import { requireAdmin } from "@/lib/portal/session";
import { createDomain, editDomain } from "../actions";

export const dynamic = "force-dynamic";

export default async function AdminDomainsPage() {
  const user = await requireAdmin("/admin/domains");
  const domains = await adminDomains();
  return (
    <AdminShell address={user.address} section="domains" title="Domains">
      <DomainsPanel domains={domains} actions={{ createDomain, editDomain }} />
    </AdminShell>
  );
}
