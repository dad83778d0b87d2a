import Link from "next/link";
import { SignOutButton } from "./sign-out-button";

const link = "rounded px-3 py-1.5 hover:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600";
const active = "bg-blue-50 font-medium text-blue-900";

export function AppHeader({ address, isAdmin, current }: { address: string; isAdmin: boolean; current?: "/" | "/me" | "/admin" }) {
  const item = (href: "/" | "/me" | "/admin", text: string) => (
    <Link href={href} prefetch={false} className={`${link} ${current === href ? active : ""}`} aria-current={current === href ? "page" : undefined}>
      {text}
    </Link>
  );
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-5xl flex-wrap items-center gap-4 px-4 py-3">
        <Link href="/" className="rounded text-lg font-semibold text-blue-800 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600">
          Herald
        </Link>
        <nav aria-label="Main" className="flex gap-1 text-sm">
          {item("/", "Buddy list")}
          {item("/me", "My Presence")}
          {isAdmin ? item("/admin", "Admin") : null}
        </nav>
        <span className="ml-auto text-sm text-slate-600" data-testid="current-address">
          {address}
        </span>
        <SignOutButton />
      </div>
    </header>
  );
}
