import Link from "next/link";
import { AdminShell } from "@/components/admin/admin-shell";
import { DepartmentListForm } from "@/components/admin/department-list-form";
import { card, link, muted, table, td } from "@/components/admin/styles";
import { TableHead } from "@/components/admin/table-head";
import { adminLists } from "@/lib/portal/admin";
import { requireAdmin } from "@/lib/portal/session";
import { createList } from "../actions";

export const dynamic = "force-dynamic";

export default async function AdminListsPage({ searchParams }: { searchParams: Promise<{ deleted?: string }> }) {
  const user = await requireAdmin("/admin/lists");
  const sp = await searchParams;
  const lists = await adminLists();
  return (
    <AdminShell address={user.address} section="lists" title="Department lists">
      <p className={`mt-1 text-sm ${muted}`}>
        An RLS service (RFC 4662): any user of the list&apos;s domain may subscribe to its address and see its members as their own pres-rules allow — a member who blocks them stays hidden.
      </p>
      {sp.deleted ? (
        <p role="status" className="mt-2 text-sm">
          List {sp.deleted.slice(0, 320)} deleted.
        </p>
      ) : null}
      <div className={`mt-4 overflow-x-auto ${card}`} tabIndex={0} role="region" aria-label="Department list table">
        {lists.length === 0 ? (
          <p className={`text-sm ${muted}`}>No department lists yet.</p>
        ) : (
          <table className={table}>
            <caption className="sr-only">Department lists</caption>
            <TableHead columns={["SIP address", "Name", "Members"]} />
            <tbody>
              {lists.map((l) => (
                <tr key={l.address} data-testid={`list-${l.address}`}>
                  <th scope="row" className={`${td} font-normal`}>
                    <Link href={`/admin/lists/${encodeURIComponent(l.address)}`} prefetch={false} className={link}>
                      {l.address}
                    </Link>
                  </th>
                  <td className={td}>{l.displayName ?? ""}</td>
                  <td className={td}>{l.members.length}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <section aria-labelledby="add-list" className={`mt-6 ${card}`}>
        <h2 id="add-list" className="text-base font-semibold">Add a department list</h2>
        <div className="mt-3">
          <DepartmentListForm actions={{ save: createList }} />
        </div>
      </section>
    </AdminShell>
  );
}
