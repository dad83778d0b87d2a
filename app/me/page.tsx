import { AppHeader } from "@/components/app-header";
import { requireUser } from "@/lib/portal/session";

export const dynamic = "force-dynamic";

export default async function MyPresencePage() {
  const user = await requireUser("/me");
  return (
    <>
      <AppHeader address={user.address} isAdmin={user.role === "admin"} />
      <main className="mx-auto max-w-5xl px-4 py-6">
        <h1 className="text-xl font-semibold">My Presence</h1>
      </main>
    </>
  );
}
