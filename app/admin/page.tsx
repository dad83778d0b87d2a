import Link from "next/link";
import { AdminShell } from "@/components/admin/admin-shell";
import { CreateAccountForm } from "@/components/admin/create-account-form";
import { Pager } from "@/components/admin/pager";
import { card, field, label, link, muted, table, td, btn } from "@/components/admin/styles";
import { adminAccounts } from "@/lib/portal/admin";
import { requireAdmin } from "@/lib/portal/session";
import { createAccount } from "./actions";
import { TableHead } from "@/components/admin/table-head";

export const dynamic = "force-dynamic";

type Search = Promise<{ query?: string; page?: string; deleted?: string }>;

export default async function AdminAccountsPage({ searchParams }: { searchParams: Search }) {
  const user = await requireAdmin("/admin");
  const sp = await searchParams;
  const query = (sp.query ?? "").slice(0, 200);
  const page = Math.max(1, Math.min(1_000_000, Number.parseInt(sp.page ?? "1", 10) || 1));
  const result = await adminAccounts(query, page);
  const pages = Math.max(1, Math.ceil(result.total / result.pageSize));
  return (
    <AdminShell address={user.address} section="accounts" title="Accounts">
      {sp.deleted ? (
        <p role="status" className="mt-2 text-sm">
          Account {sp.deleted} deleted.
        </p>
      ) : null}
      <form method="get" action="/admin" role="search" aria-label="Accounts" className="mt-4 flex flex-wrap items-end gap-2">
        <div className="grow">
          <label htmlFor="account-query" className={label}>Search by address or name</label>
          <input id="account-query" name="query" type="search" defaultValue={query} maxLength={200} className={field} />
        </div>
        <button type="submit" className={btn.secondary}>Search</button>
      </form>
      <p className={`mt-2 text-sm ${muted}`} data-testid="account-count">
        {result.total === 0 ? "No accounts" : `${(page - 1) * result.pageSize + 1}–${Math.min(page * result.pageSize, result.total)} of ${result.total} accounts`}
        {query ? ` matching “${query}”` : ""}
      </p>
      <div className={`mt-2 overflow-x-auto ${card}`} tabIndex={0} role="region" aria-label="Account list">
        <table className={table}>
          <caption className="sr-only">Accounts, page {page} of {pages}</caption>
          <TableHead columns={["SIP address", "Name", "Role", "State"]} />
          <tbody>
            {result.items.map((a) => (
              <tr key={a.id} data-testid={`account-${a.address}`}>
                <th scope="row" className={`${td} font-normal`}>
                  <Link href={`/admin/accounts/${encodeURIComponent(a.address)}`} prefetch={false} className={link}>
                    {a.address}
                  </Link>
                </th>
                <td className={td}>{a.displayName ?? ""}</td>
                <td className={td}>{a.role}</td>
                <td className={td}>{a.disabled ? "✕ disabled" : "✓ active"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager page={page} pages={pages} href={(p) => `/admin?${new URLSearchParams({ ...(query ? { query } : {}), page: String(p) })}`} label="Account pages" />
      <section aria-labelledby="add-account" className={`mt-6 ${card}`}>
        <h2 id="add-account" className="text-base font-semibold">Add an account</h2>
        <div className="mt-3">
          <CreateAccountForm createAccount={createAccount} />
        </div>
      </section>
    </AdminShell>
  );
}
