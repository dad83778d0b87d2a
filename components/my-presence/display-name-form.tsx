"use client";
/** The account's display name: saved with the account, then published at once with this tab's presence. */
import { useId, useState, type FormEvent } from "react";
import type { ActionResult } from "@/lib/portal/wire-types";
import { usePresenceClient } from "../presence/presence-client-context";
import { btn, field, label } from "../ui/styles";
import { useTransientMessage } from "../ui/use-transient-message";

export function DisplayNameForm({
  initial,
  maxLength,
  saveDisplayName,
}: {
  initial: string;
  /** Longest name (DISPLAY_NAME_MAX_CHARS); the server checks it too. */
  maxLength: number;
  saveDisplayName: (name: string) => Promise<ActionResult<{ displayName: string | null }>>;
}) {
  const id = useId();
  const client = usePresenceClient();
  const [name, setName] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [outcome, show] = useTransientMessage();
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (Array.from(name.trim()).length > maxLength) {
      setError(`The name is too long: at most ${maxLength} characters.`);
      return;
    }
    setBusy(true);
    setError(null);
    show("Saving…", { sticky: true });
    try {
      const r = await saveDisplayName(name);
      if (!r.ok) {
        show("");
        setError(`Saving the name failed: ${r.error}`);
        return;
      }
      const saved = r.data.displayName ?? "";
      setName(saved);
      await client?.setDisplayName(saved);
      show(saved ? `Your name is now ${saved}.` : "Your name was removed; your address is shown instead.");
    } catch {
      show("");
      setError("Herald could not be reached. Check your connection and try again.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={onSubmit} className="flex flex-wrap items-end gap-2" noValidate>
      <div className="min-w-0 flex-1 basis-48">
        <label htmlFor={id} className={label}>
          Display name
        </label>
        <input id={id} type="text" autoComplete="name" className={field} value={name} onChange={(e) => setName(e.target.value)} data-testid="display-name" />
      </div>
      <button type="submit" className={btn.secondary} disabled={busy}>
        Save name
      </button>
      <p role="status" data-testid="display-name-status" className="w-full text-sm text-slate-700">
        {outcome}
      </p>
      {error ? (
        <p role="alert" className="w-full text-sm text-red-800">
          {error}
        </p>
      ) : null}
    </form>
  );
}
