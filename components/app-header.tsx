import Link from "next/link";
import { SignOutButton } from "./sign-out-button";

export function AppHeader({ address, isAdmin }: { address: string; isAdmin: boolean }) {
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-5xl items-center gap-4 px-4 py-3">
        <Link href="/" className="text-lg font-semibold text-blue-800">
          Herald
        </Link>
        <nav aria-label="Main" className="flex gap-1 text-sm">
          <Link href="/" className="rounded px-3 py-1.5 hover:bg-slate-100">
            Buddy list
          </Link>
          <Link href="/me" className="rounded px-3 py-1.5 hover:bg-slate-100">
            My Presence
          </Link>
          {isAdmin ? (
            <Link href="/admin" className="rounded px-3 py-1.5 hover:bg-slate-100">
              Admin
            </Link>
          ) : null}
        </nav>
        <span className="ml-auto text-sm text-slate-600" data-testid="current-address">
          {address}
        </span>
        <SignOutButton />
      </div>
    </header>
  );
}
