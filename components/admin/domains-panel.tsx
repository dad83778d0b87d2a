"use client";
/** Console: domains — add one, change a realm (only while it has no accounts), disable/enable. */
import { useId, useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import type { ActionResult } from "@/lib/portal/wire-types";
import type { DomainView } from "@/lib/accounts/service";
import { attempt, Outcome, type Message } from "./outcome";
import { btn, card, field, label, muted, table, td } from "./styles";
import { TableHead } from "./table-head";

export interface DomainActions {
  createDomain: (input: { name: string; realm?: string }) => Promise<ActionResult<{ name: string }>>;
  editDomain: (name: string, change: { realm?: string; enabled?: boolean }) => Promise<ActionResult<DomainView>>;
}

export function DomainsPanel({ domains, actions }: { domains: DomainView[]; actions: DomainActions }) {
  const id = useId();
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message>(null);

  async function run<T>(progress: string, call: () => Promise<ActionResult<T>>, done: string): Promise<boolean> {
    setBusy(true);
    setMessage({ kind: "ok", text: progress });
    const r = await attempt(call);
    setBusy(false);
    setMessage(r.ok ? { kind: "ok", text: done } : { kind: "error", text: r.error });
    if (r.ok) router.refresh();
    return r.ok;
  }

  async function add(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const d = new FormData(form);
    const name = String(d.get("name") ?? "").trim();
    const realm = String(d.get("realm") ?? "").trim() || undefined;
    if (await run("Adding…", () => actions.createDomain({ name, realm }), `Domain ${name.toLowerCase()} added.`)) form.reset();
  }

  return (
    <>
      <div className={`mt-4 overflow-x-auto ${card}`} tabIndex={0} role="region" aria-label="Domain list">
        <table className={table}>
          <caption className="sr-only">Domains</caption>
          <TableHead columns={["Domain", "Realm", "Accounts", "State", "Actions"]} />
          <tbody>
            {domains.map((d) => (
              <tr key={d.name} data-testid={`domain-${d.name}`}>
                <th scope="row" className={`${td} font-medium`}>{d.name}</th>
                <td className={td}>
                  {d.accounts === 0 ? (
                    <form
                      className="flex gap-2"
                      onSubmit={(e) => {
                        e.preventDefault();
                        const realm = String(new FormData(e.currentTarget).get("realm") ?? "").trim();
                        void run("Saving…", () => actions.editDomain(d.name, { realm }), `Realm of ${d.name} is now ${realm}.`);
                      }}
                    >
                      <label htmlFor={`${id}-realm-${d.name}`} className="sr-only">Realm of {d.name}</label>
                      <input id={`${id}-realm-${d.name}`} name="realm" defaultValue={d.realm} required maxLength={128} className={`${field} mt-0 min-w-32`} />
                      <button type="submit" disabled={busy} className={btn.secondary}>Save</button>
                    </form>
                  ) : (
                    <span title="The realm is part of every account's digest credentials: it can change only while the domain has no accounts.">{d.realm}</span>
                  )}
                </td>
                <td className={td}>{d.accounts}</td>
                <td className={td}>{d.enabled ? "✓ enabled" : "✕ disabled"}</td>
                <td className={td}>
                  <button
                    type="button"
                    disabled={busy}
                    className={btn.secondary}
                    onClick={() => run(d.enabled ? "Disabling…" : "Enabling…", () => actions.editDomain(d.name, { enabled: !d.enabled }), `Domain ${d.name} ${d.enabled ? "disabled" : "enabled"}.`)}
                  >
                    {d.enabled ? `Disable ${d.name}` : `Enable ${d.name}`}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className={`mt-2 text-xs ${muted}`}>A realm can change only while its domain has no accounts: every account&apos;s digest credentials are derived from it.</p>
      </div>
      <Outcome testId="domain-status" message={message} />
      <section aria-labelledby={`${id}-add`} className={`mt-2 ${card}`}>
        <h2 id={`${id}-add`} className="text-base font-semibold">Add a domain</h2>
        <form onSubmit={add} aria-label="Add domain" className="mt-3 grid gap-3 sm:grid-cols-[1fr_1fr_auto] sm:items-end">
          <div>
            <label htmlFor={`${id}-name`} className={label}>Domain</label>
            <input id={`${id}-name`} name="name" required placeholder="example.com" className={field} />
          </div>
          <div>
            <label htmlFor={`${id}-newrealm`} className={label}>Realm (blank: the domain)</label>
            <input id={`${id}-newrealm`} name="realm" maxLength={128} className={field} />
          </div>
          <button type="submit" disabled={busy} className={btn.primary}>Add domain</button>
        </form>
      </section>
    </>
  );
}
