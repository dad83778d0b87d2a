"use client";
/**
 * Console: a user's permanent status ("On leave until 3 January"), written to their
 * pidf-manipulation document: every watcher sees it with the user's status, on or offline, until
 * the operator or the user clears it.
 */
import { useId, useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import type { ActionResult } from "@/lib/portal/wire-types";
import { attempt, Outcome, type Message } from "./outcome";
import { btn, card, field, label, muted } from "./styles";

export function PermanentStatusForm({ address, initial, save }: { address: string; initial: string | null; save: (address: string, status: string) => Promise<ActionResult<null>> }) {
  const id = useId();
  const router = useRouter();
  const [value, setValue] = useState(initial ?? "");
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message>(null);

  async function write(status: string) {
    setBusy(true);
    setMessage({ kind: "ok", text: "Saving…" });
    const r = await attempt(() => save(address, status));
    setBusy(false);
    if (!r.ok) return setMessage({ kind: "error", text: r.error });
    setValue(status.trim());
    setMessage({ kind: "ok", text: status.trim() ? `Permanent status set: ${status.trim()}` : "Permanent status cleared." });
    router.refresh();
  }

  return (
    <section aria-labelledby={`${id}-heading`} className={`mt-4 ${card}`}>
      <h2 id={`${id}-heading`} className="text-base font-semibold">Permanent status</h2>
      <p className={`mt-1 text-sm ${muted}`}>A note every watcher sees with this user&apos;s status, online or not (their pidf-manipulation document). The user can clear it on My Presence.</p>
      <form
        className="mt-3 flex flex-wrap items-end gap-2"
        onSubmit={(e: FormEvent<HTMLFormElement>) => {
          e.preventDefault();
          void write(value);
        }}
      >
        <div className="grow">
          <label htmlFor={`${id}-status`} className={label}>Permanent status note</label>
          <input id={`${id}-status`} value={value} onChange={(e) => setValue(e.target.value)} maxLength={500} placeholder="On leave until 3 January" autoComplete="off" className={field} />
        </div>
        <button type="submit" disabled={busy || !value.trim()} className={btn.primary}>Set permanent status</button>
        <button type="button" disabled={busy || !initial} className={btn.secondary} onClick={() => void write("")}>Clear</button>
      </form>
      <Outcome testId="permanent-status-outcome" message={message} />
    </section>
  );
}
