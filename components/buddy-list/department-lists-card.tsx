"use client";
/**
 * The buddy list's offer of the department lists of the user's domain: "Add as a group" copies a
 * list's members into the address book (lib/portal/department-list-groups). The open list shows
 * the new group within about a second (its xcap-diff subscription fetches the address book again).
 */
import { useState } from "react";
import type { ActionResult, DepartmentListOffer } from "@/lib/portal/wire-types";
import { btn } from "../ui/styles";

export function DepartmentListsCard({ lists, addDepartmentList }: { lists: DepartmentListOffer[]; addDepartmentList: (address: string) => Promise<ActionResult<{ group: string; added: number; joined: number }>> }) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  if (lists.length === 0) return null;
  async function add(l: DepartmentListOffer) {
    setBusy(true);
    setMessage({ kind: "ok", text: `Adding ${l.name}…` });
    let r: ActionResult<{ group: string; added: number; joined: number }>;
    try {
      r = await addDepartmentList(l.address);
    } catch {
      r = { ok: false, code: "network", error: "Herald could not be reached. Try again." };
    }
    setBusy(false);
    setMessage(r.ok ? { kind: "ok", text: `Group ${r.data.group}: ${r.data.added} contacts added${r.data.joined ? `, ${r.data.joined} already here joined it` : ""}.` } : { kind: "error", text: r.error });
  }
  return (
    <section aria-labelledby="department-lists" className="mt-4 rounded-lg border border-slate-200 bg-white p-4" data-testid="department-lists">
      <h2 id="department-lists" className="text-base font-semibold">Department lists</h2>
      <p className="mt-1 text-sm text-slate-600">Lists your operator keeps. Adding one puts its members in a group of that name; each member still decides whether you see them.</p>
      <ul className="mt-2 divide-y divide-slate-100">
        {lists.map((l) => (
          <li key={l.address} className="flex flex-wrap items-center justify-between gap-2 py-2">
            <span>
              <span className="font-medium">{l.name}</span> <span className="text-sm text-slate-600">({l.members} members, sip:{l.address})</span>
            </span>
            <button type="button" disabled={busy} className={btn.secondary} aria-label={`Add as a group: ${l.name}`} onClick={() => void add(l)}>
              Add as a group
            </button>
          </li>
        ))}
      </ul>
      <p role={message?.kind === "error" ? "alert" : "status"} data-testid="department-lists-status" className={`min-h-5 text-sm ${message?.kind === "error" ? "text-red-800" : "text-slate-700"}`}>
        {message?.text ?? ""}
      </p>
    </section>
  );
}
