"use client";
/** Console: one account — display name, role, enable/disable, password reset (shown once), delete. */
import { useId, useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import type { ActionResult } from "@/lib/portal/wire-types";
import type { AccountView } from "@/lib/accounts/service";
import { ConfirmDelete } from "./confirm-delete";
import { GeneratedPassword } from "./create-account-form";
import { attempt, Outcome, type Message } from "./outcome";
import { btn, card, field, label, muted } from "./styles";

export interface AccountEditorActions {
  renameAccount: (address: string, displayName: string) => Promise<ActionResult<null>>;
  setAccountRole: (address: string, role: "user" | "admin") => Promise<ActionResult<null>>;
  setAccountDisabled: (address: string, disabled: boolean) => Promise<ActionResult<null>>;
  resetPassword: (address: string) => Promise<ActionResult<{ password: string }>>;
  removeAccount: (address: string) => Promise<ActionResult<null>>;
}

export function AccountEditor({ account, actions }: { account: AccountView; actions: AccountEditorActions }) {
  const id = useId();
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message>(null);
  const [password, setPassword] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);

  async function run<T>(progress: string, call: () => Promise<ActionResult<T>>, done: (data: T) => string): Promise<boolean> {
    setBusy(true);
    setMessage({ kind: "ok", text: progress });
    const r = await attempt(call);
    setBusy(false);
    if (!r.ok) {
      setMessage({ kind: "error", text: r.error });
      return false;
    }
    setMessage({ kind: "ok", text: done(r.data) });
    router.refresh();
    return true;
  }

  async function rename(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const name = String(new FormData(e.currentTarget).get("displayName") ?? "");
    await run("Saving…", () => actions.renameAccount(account.address, name), () => (name.trim() ? `Name changed to ${name.trim()}.` : "Name cleared."));
  }

  async function changeRole(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const role = new FormData(e.currentTarget).get("role") === "admin" ? "admin" : "user";
    await run("Saving…", () => actions.setAccountRole(account.address, role), () => `Role is now ${role}.`);
  }

  return (
    <div className="mt-4 grid gap-4 md:grid-cols-2">
      <section aria-labelledby={`${id}-profile`} className={card}>
        <h2 id={`${id}-profile`} className="text-base font-semibold">Profile</h2>
        <form onSubmit={rename} className="mt-3">
          <label htmlFor={`${id}-name`} className={label}>Display name</label>
          <div className="mt-1 flex gap-2">
            <input id={`${id}-name`} name="displayName" defaultValue={account.displayName ?? ""} maxLength={128} className={field} />
            <button type="submit" disabled={busy} className={btn.secondary}>Save name</button>
          </div>
        </form>
        <form onSubmit={changeRole} className="mt-4">
          <label htmlFor={`${id}-role`} className={label}>Role</label>
          <div className="mt-1 flex gap-2">
            <select id={`${id}-role`} name="role" defaultValue={account.role} className={field}>
              <option value="user">User</option>
              <option value="admin">Admin</option>
            </select>
            <button type="submit" disabled={busy} className={btn.secondary}>Save role</button>
          </div>
        </form>
      </section>
      <section aria-labelledby={`${id}-access`} className={card}>
        <h2 id={`${id}-access`} className="text-base font-semibold">Access</h2>
        <p className={`mt-1 text-sm ${muted}`}>Disabling, a new password and deleting sign the account out everywhere at once.</p>
        <div className="mt-3 flex flex-wrap gap-2">
          {account.disabled ? (
            <button type="button" disabled={busy} className={btn.secondary} onClick={() => run("Enabling…", () => actions.setAccountDisabled(account.address, false), () => "Account enabled.")}>
              Enable account
            </button>
          ) : (
            <button type="button" disabled={busy} className={btn.secondary} onClick={() => run("Disabling…", () => actions.setAccountDisabled(account.address, true), () => "Account disabled; its sessions ended.")}>
              Disable account
            </button>
          )}
          <button
            type="button"
            disabled={busy}
            className={btn.secondary}
            onClick={() =>
              run("Resetting…", () => actions.resetPassword(account.address), (d) => {
                setPassword(d.password);
                return "New password set; its sessions ended.";
              })
            }
          >
            Reset password
          </button>
          <button type="button" disabled={busy} className={btn.danger} onClick={() => setConfirming(true)}>
            Delete account
          </button>
        </div>
        {password ? <GeneratedPassword address={account.address} password={password} /> : null}
      </section>
      <div className="md:col-span-2">
        <Outcome testId="account-status" message={message} />
      </div>
      <ConfirmDelete
        open={confirming}
        onClose={() => setConfirming(false)}
        title={`Delete ${account.address}?`}
        description="Its contacts, rules and other XCAP documents go with it, and its sessions end. This cannot be undone."
        testId="confirm-delete"
        busy={busy}
        onDelete={async () => {
          if (await run("Deleting…", () => actions.removeAccount(account.address), () => "Account deleted.")) {
            setConfirming(false);
            router.push(`/admin?deleted=${encodeURIComponent(account.address)}`);
          }
        }}
      />
    </div>
  );
}
