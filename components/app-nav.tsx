"use client";
/** The main tabs; the current one is highlighted from the URL, so every page (Admin included) gets it without passing it. */
import Link from "next/link";
import { usePathname } from "next/navigation";

const link = "rounded px-3 py-1.5 hover:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600";
const active = "bg-blue-50 font-medium text-blue-900";

type Tab = "/" | "/me" | "/admin";

export function AppNav({ isAdmin, current }: { isAdmin: boolean; current?: Tab }) {
  const path = usePathname();
  const here: Tab | undefined = current ?? (path === "/" ? "/" : path.startsWith("/me") ? "/me" : path.startsWith("/admin") ? "/admin" : undefined);
  const item = (href: Tab, text: string) => (
    <Link href={href} prefetch={false} className={`${link} ${here === href ? active : ""}`} aria-current={here === href ? "page" : undefined}>
      {text}
    </Link>
  );
  return (
    <nav aria-label="Main" className="flex gap-1 text-sm">
      {item("/", "Buddy list")}
      {item("/me", "My Presence")}
      {isAdmin ? item("/admin", "Admin") : null}
    </nav>
  );
}
