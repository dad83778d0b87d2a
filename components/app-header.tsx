import Link from "next/link";
import { AppNav } from "./app-nav";
import { SignOutButton } from "./sign-out-button";

export function AppHeader({ address, isAdmin, current }: { address: string; isAdmin: boolean; current?: "/" | "/me" | "/admin" }) {
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-5xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3">
        <Link href="/" className="rounded text-lg font-semibold text-blue-800 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600">
          Herald
        </Link>
        <AppNav isAdmin={isAdmin} current={current} />
        <span className="ml-auto min-w-0 truncate text-sm text-slate-600" data-testid="current-address">
          {address}
        </span>
        <SignOutButton />
      </div>
    </header>
  );
}
