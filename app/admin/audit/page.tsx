import { AdminShell } from "@/components/admin/admin-shell";
import { Pager } from "@/components/admin/pager";
import { btn, card, field, label, muted, table, td } from "@/components/admin/styles";
import { adminAudit, adminAuditActions } from "@/lib/portal/admin";
import { requireAdmin } from "@/lib/portal/session";
import { TableHead } from "@/components/admin/table-head";

export const dynamic = "force-dynamic";

type Search = Promise<{ actor?: string; action?: string; target?: string; page?: string }>;

export default async function AdminAuditPage({ searchParams }: { searchParams: Search }) {
  const user = await requireAdmin("/admin/audit");
  const sp = await searchParams;
  const filter = { actor: (sp.actor ?? "").slice(0, 200), action: (sp.action ?? "").slice(0, 100), target: (sp.target ?? "").slice(0, 200) };
  const page = Math.max(1, Math.min(1_000_000, Number.parseInt(sp.page ?? "1", 10) || 1));
  const [result, actions] = await Promise.all([adminAudit({ ...filter, page }), adminAuditActions()]);
  const pages = Math.max(1, Math.ceil(result.total / result.pageSize));
  const kept = Object.fromEntries(Object.entries(filter).filter(([, v]) => v));
  return (
    <AdminShell address={user.address} section="audit" title="Audit log">
      <form method="get" action="/admin/audit" role="search" aria-label="Audit log" className="mt-4 grid gap-2 sm:grid-cols-[1fr_1fr_1fr_auto] sm:items-end">
        <div>
          <label htmlFor="audit-actor" className={label}>Who (e.g. cli, admin:, token:)</label>
          <input id="audit-actor" name="actor" defaultValue={filter.actor} className={field} />
        </div>
        <div>
          <label htmlFor="audit-action" className={label}>Action</label>
          <select id="audit-action" name="action" defaultValue={filter.action} className={field}>
            <option value="">Any</option>
            {[...new Set(actions.map((a) => a.split(".")[0] + "."))].map((p) => (
              <option key={p} value={p}>
                {p}*
              </option>
            ))}
            {actions.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="audit-target" className={label}>Target contains</label>
          <input id="audit-target" name="target" defaultValue={filter.target} className={field} />
        </div>
        <button type="submit" className={btn.secondary}>Filter</button>
      </form>
      <p className={`mt-2 text-sm ${muted}`} data-testid="audit-count">
        {result.total} {result.total === 1 ? "entry" : "entries"}
      </p>
      <div className={`mt-2 overflow-x-auto ${card}`} tabIndex={0} role="region" aria-label="Audit log entries">
        <table className={table}>
          <caption className="sr-only">Audit log, newest first, page {page} of {pages}</caption>
          <TableHead columns={["When (UTC)", "Who", "Action", "Target", "Detail", "From"]} />
          <tbody>
            {result.items.map((e) => (
              <tr key={e.id} data-testid="audit-row">
                <td className={`${td} whitespace-nowrap`}>{e.at.toISOString().replace("T", " ").slice(0, 19)}</td>
                <td className={td}>{e.actor ?? ""}</td>
                <td className={td}>{e.action}</td>
                <td className={td}>{e.target ?? ""}</td>
                <td className={td}>{e.detail ?? ""}</td>
                <td className={td}>{e.ip ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager page={page} pages={pages} href={(p) => `/admin/audit?${new URLSearchParams({ ...kept, page: String(p) })}`} label="Audit log pages" />
    </AdminShell>
  );
}
