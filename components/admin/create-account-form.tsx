"use client";
/** Console: add one account (a blank password makes Herald generate one, shown once). */
import { useId, useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import type { ActionResult } from "@/lib/portal/wire-types";
import type { AccountView } from "@/lib/accounts/service";
import { attempt, Outcome, type Message } from "./outcome";
import { btn, field, label } from "./styles";

export type CreateAccountAction = (input: { address: string; password?: string; displayName?: string; role?: "user" | "admin" }) => Promise<ActionResult<{ account: AccountView; password: string | null }>>;

export function CreateAccountForm({ createAccount }: { createAccount: CreateAccountAction }) {
  const id = useId();
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message>(null);
  const [shown, setShown] = useState<{ address: string; password: string } | null>(null);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    setBusy(true);
    setShown(null);
    setMessage({ kind: "ok", text: "Adding…" });
    const r = await attempt(() =>
      createAccount({
        address: String(data.get("address") ?? ""),
        password: String(data.get("password") ?? "") || undefined,
        displayName: String(data.get("displayName") ?? "") || undefined,
        role: data.get("role") === "admin" ? "admin" : "user",
      }),
    );
    setBusy(false);
    if (!r.ok) return setMessage({ kind: "error", text: r.error });
    form.reset();
    setMessage({ kind: "ok", text: `Account ${r.data.account.address} added.` });
    if (r.data.password) setShown({ address: r.data.account.address, password: r.data.password });
    router.refresh();
  }

  return (
    <form onSubmit={submit} aria-label="Add account" className="grid gap-3 sm:grid-cols-2">
      <div>
        <label htmlFor={`${id}-address`} className={label}>SIP address</label>
        <input id={`${id}-address`} name="address" required placeholder="user@example.com" autoComplete="off" className={field} />
      </div>
      <div>
        <label htmlFor={`${id}-name`} className={label}>Display name</label>
        <input id={`${id}-name`} name="displayName" maxLength={128} autoComplete="off" className={field} />
      </div>
      <div>
        <label htmlFor={`${id}-password`} className={label}>Password (blank: generate one)</label>
        <input id={`${id}-password`} name="password" type="password" autoComplete="new-password" className={field} />
      </div>
      <div>
        <label htmlFor={`${id}-role`} className={label}>Role</label>
        <select id={`${id}-role`} name="role" defaultValue="user" className={field}>
          <option value="user">User</option>
          <option value="admin">Admin</option>
        </select>
      </div>
      <div className="sm:col-span-2">
        <button type="submit" disabled={busy} className={btn.primary}>
          Add account
        </button>
        <Outcome testId="create-account-status" message={message} />
        {shown ? <GeneratedPassword address={shown.address} password={shown.password} /> : null}
      </div>
    </form>
  );
}

/** A password Herald generated: shown this once, never stored in clear. */
export function GeneratedPassword({ address, password }: { address: string; password: string }) {
  return (
    <div className="mt-2 rounded-md border border-amber-400 bg-amber-50 p-3 text-sm text-amber-950 dark:border-amber-500 dark:bg-amber-950 dark:text-amber-100">
      <p>
        Password of {address} — shown only now, pass it on:{" "}
        <output data-testid="new-password" className="font-mono font-semibold select-all">
          {password}
        </output>
      </p>
    </div>
  );
}
