import Link from "next/link";

export default function Forbidden() {
  return (
    <main className="mx-auto mt-24 max-w-md rounded-lg border border-slate-200 bg-white p-8 text-center shadow-sm">
      <h1 className="text-2xl font-semibold">403 — Forbidden</h1>
      <p className="mt-3 text-slate-600">This page is for operators. Your account does not have the admin role.</p>
      <Link href="/" className="mt-6 inline-block rounded bg-blue-700 px-4 py-2 text-white hover:bg-blue-800">
        Back to your buddy list
      </Link>
    </main>
  );
}
