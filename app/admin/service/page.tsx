import { AdminShell } from "@/components/admin/admin-shell";
import { ServiceCharts } from "@/components/admin/service-charts";
import { muted } from "@/components/admin/styles";
import { adminServiceSeries } from "@/lib/portal/admin";
import { requireAdmin } from "@/lib/portal/session";

export const dynamic = "force-dynamic";

export default async function AdminServicePage() {
  const user = await requireAdmin("/admin/service");
  const series = adminServiceSeries();
  return (
    <AdminShell address={user.address} section="service" title="Service">
      {series ? (
        <ServiceCharts initial={series} />
      ) : (
        <p className={`mt-1 text-sm ${muted}`}>This portal process runs no embedded SIP server (SIP_EMBEDDED=false or an upstream server): there are no service charts here.</p>
      )}
    </AdminShell>
  );
}
