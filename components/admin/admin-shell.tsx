/** Frame of every console page: the app header, the console's own navigation, a light/dark main area. */
import Link from "next/link";
import type { ReactNode } from "react";
import { AppHeader } from "../app-header";

export type AdminSection = "accounts" | "domains" | "presentities" | "lists" | "import" | "audit" | "service";

const SECTIONS: Array<[AdminSection, string, string]> = [
  ["accounts", "/admin", "Accounts"],
  ["domains", "/admin/domains", "Domains"],
  ["presentities", "/admin/presentities", "Virtual presentities"],
  ["lists", "/admin/lists", "Department lists"],
  ["import", "/admin/import", "Import"],
  ["audit", "/admin/audit", "Audit log"],
  ["service", "/admin/service", "Service"],
];

export function AdminShell({ address, section, title, children }: { address: string; section: AdminSection; title: string; children: ReactNode }) {
  return (
    <div className="min-h-screen bg-slate-50 dark:bg-slate-950">
      {/* the shared header stays light in both schemes: it sets no colours of its own for dark */}
      <AppHeader address={address} isAdmin current="/admin" />
      <div className="mx-auto max-w-5xl px-4 py-6 text-slate-900 dark:text-slate-100">
        <nav aria-label="Console" className="flex flex-wrap gap-1 text-sm">
          {SECTIONS.map(([key, href, text]) => (
            <Link
              key={key}
              href={href}
              prefetch={false}
              aria-current={section === key ? "page" : undefined}
              className={`rounded-md px-3 py-1.5 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600 ${
                section === key ? "bg-blue-700 font-medium text-white dark:bg-blue-600" : "text-slate-800 hover:bg-slate-200 dark:text-slate-200 dark:hover:bg-slate-800"
              }`}
            >
              {text}
            </Link>
          ))}
        </nav>
        <main className="mt-4">
          <h1 className="text-xl font-semibold">{title}</h1>
          {children}
        </main>
      </div>
    </div>
  );
}
