import { AppHeader } from "@/components/app-header";
import { requireUser } from "@/lib/portal/session";

export const dynamic = "force-dynamic";

export default async function Home() {
  const user = await requireUser("/");
  return (
    <>
      <AppHeader address={user.address} isAdmin={user.role === "admin"} />
      <main className="mx-auto max-w-5xl px-4 py-6">
        <h1 className="text-xl font-semibold">Buddy list</h1>
        <p className="mt-1 text-sm text-slate-600">
          Signed in as <span data-testid="home-address">{user.address}</span>
        </p>
        <section aria-label="Buddy list" data-testid="buddy-list" className="mt-4 rounded-lg border border-slate-200 bg-white p-6">
          <p className="text-slate-500">No contacts yet.</p>
        </section>
      </main>
    </>
  );
}
