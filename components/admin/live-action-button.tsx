"use client";
/**
 * Console: one action on an account's live state (end a registration, terminate a subscription,
 * clear a publication). The row stays with the outcome under its button (a refresh would take the
 * row, and the outcome, away): the button is done; reloading the page shows the state now.
 */
import { useState } from "react";
import type { ActionResult } from "@/lib/portal/wire-types";
import { attempt, Outcome, type Message } from "./outcome";
import { btn } from "./styles";

export function LiveActionButton({ text, label, done: doneText, testId, run }: { text: string; label: string; done: string; testId: string; run: () => Promise<ActionResult<null>> }) {
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [message, setMessage] = useState<Message>(null);
  return (
    <div>
      <button
        type="button"
        aria-label={label}
        data-testid={testId}
        disabled={busy || done}
        className={`${btn.secondary} px-2 py-1 text-xs`}
        onClick={async () => {
          setBusy(true);
          setMessage({ kind: "ok", text: "Working…" });
          const r = await attempt(run);
          setBusy(false);
          setMessage(r.ok ? { kind: "ok", text: doneText } : { kind: "error", text: r.error });
          if (r.ok) setDone(true);
        }}
      >
        {text}
      </button>
      <Outcome testId={`${testId}-outcome`} message={message} />
    </div>
  );
}
