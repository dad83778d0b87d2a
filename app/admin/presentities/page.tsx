import Link from "next/link";
import { AdminShell } from "@/components/admin/admin-shell";
import { CreatePresentityForm } from "@/components/admin/presentity-forms";
import { watchersText } from "@/components/admin/presentity-summary";
import { card, link, muted, table, td } from "@/components/admin/styles";
import { TableHead } from "@/components/admin/table-head";
import { AVAILABILITY_LABEL, StatusIcon } from "@/components/presence/status-indicator";
import { adminPresentities } from "@/lib/portal/admin";
import { requireAdmin } from "@/lib/portal/session";
import { savePresentityPresence } from "../actions";

export const dynamic = "force-dynamic";

export default async function AdminPresentitiesPage({ searchParams }: { searchParams: Promise<{ deleted?: string }> }) {
  const user = await requireAdmin("/admin/presentities");
  const sp = await searchParams;
  const items = await adminPresentities();
  return (
    <AdminShell address={user.address} section="presentities" title="Virtual presentities">
      <p className={`mt-1 text-sm ${muted}`}>Addresses with presence but no account — weather, a support queue, a server — watched like any user. Set their presence here or through the API.</p>
      {sp.deleted ? (
        <p role="status" className="mt-2 text-sm">
          {sp.deleted.slice(0, 320)} deleted.
        </p>
      ) : null}
      <div className={`mt-4 overflow-x-auto ${card}`} tabIndex={0} role="region" aria-label="Virtual presentity list">
        <table className={table}>
          <caption className="sr-only">Virtual presentities</caption>
          <TableHead columns={["SIP address", "Status", "Note", "Who may watch"]} />
          <tbody>
            {items.map((p) => (
              <tr key={p.address} data-testid={`presentity-${p.address}`}>
                <th scope="row" className={`${td} font-normal`}>
                  <Link href={`/admin/presentities/${encodeURIComponent(p.address)}`} prefetch={false} className={link}>
                    {p.address}
                  </Link>
                </th>
                <td className={td}>
                  <span className="inline-flex items-center gap-1.5">
                    <StatusIcon availability={p.availability} />
                    {AVAILABILITY_LABEL[p.availability]}
                  </span>
                </td>
                <td className={td}>{p.note ?? ""}</td>
                <td className={td}>{watchersText(p.watchers)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {items.length === 0 ? <p className={`mt-2 text-sm ${muted}`}>No virtual presentities yet.</p> : null}
      </div>
      <section aria-labelledby="add-presentity" className={`mt-6 ${card}`}>
        <h2 id="add-presentity" className="text-base font-semibold">Add a virtual presentity</h2>
        <div className="mt-3">
          <CreatePresentityForm save={savePresentityPresence} />
        </div>
      </section>
    </AdminShell>
  );
}
