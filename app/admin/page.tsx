import { AppHeader } from "@/components/app-header";
import { db } from "@/lib/db";
import { listAccounts } from "@/lib/accounts/service";
import { requireAdmin } from "@/lib/portal/session";

export const dynamic = "force-dynamic";

export default async function AdminPage() {
  const user = await requireAdmin("/admin");
  const accounts = await listAccounts(db());
  return (
    <>
      <AppHeader address={user.address} isAdmin />
      <main className="mx-auto max-w-5xl px-4 py-6">
        <h1 className="text-xl font-semibold">Accounts</h1>
        <table className="mt-4 w-full border-collapse overflow-hidden rounded-lg bg-white text-sm shadow-sm">
          <thead className="bg-slate-100 text-left">
            <tr>
              <th scope="col" className="px-3 py-2">SIP address</th>
              <th scope="col" className="px-3 py-2">Name</th>
              <th scope="col" className="px-3 py-2">Role</th>
              <th scope="col" className="px-3 py-2">State</th>
            </tr>
          </thead>
          <tbody>
            {accounts.map((a) => (
              <tr key={a.id} className="border-t border-slate-100">
                <td className="px-3 py-2">{a.address}</td>
                <td className="px-3 py-2">{a.displayName ?? ""}</td>
                <td className="px-3 py-2">{a.role}</td>
                <td className="px-3 py-2">{a.disabled ? "disabled" : "active"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </main>
    </>
  );
}
