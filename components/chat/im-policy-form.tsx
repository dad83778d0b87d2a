"use client";
/** My Presence: "Who may message me" — writes the user's im-rules document through a server action. */
import { RadioChoices } from "../ui/radio-choices";
import { useId, useState } from "react";
import type { ImPolicy } from "@/lib/im";
import type { ActionResult } from "@/lib/portal/wire-types";
import { useSyncedState } from "@/lib/client/use-synced-state";
import { label } from "../ui/styles";

const OPTIONS: Array<{ value: ImPolicy; label: string; hint: string }> = [
  { value: "everyone", label: "Anyone with an account here", hint: "Users of this server's domains." },
  { value: "contacts", label: "Only my contacts", hint: "People in your buddy list; others are refused." },
  { value: "nobody", label: "Nobody", hint: "Messages are refused (your own devices still reach each other)." },
];

export function ImPolicyForm({ initial, save }: { initial: ImPolicy | "custom"; save: (p: ImPolicy) => Promise<ActionResult<null>> }) {
  const name = useId();
  const [policy, setPolicy] = useSyncedState(initial);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(initial === "custom" ? { kind: "ok", text: "Set by another program: choose to replace it." } : null);

  async function choose(next: ImPolicy) {
    const before = policy;
    setPolicy(next);
    setBusy(true);
    setMessage({ kind: "ok", text: "Saving…" });
    const r = await save(next).catch(() => ({ ok: false as const, code: "network", error: "Herald could not be reached. Try again." }));
    setBusy(false);
    if (!r.ok) {
      setPolicy(before);
      return setMessage({ kind: "error", text: r.error });
    }
    setMessage({ kind: "ok", text: `Saved: ${OPTIONS.find((o) => o.value === next)?.label}.` });
  }

  return (
    <fieldset data-testid="im-policy" aria-busy={busy}>
      <legend className={label}>Who may send me instant messages</legend>
      <RadioChoices name={name} choices={OPTIONS} value={policy} disabled={busy} onChoose={(v) => void choose(v)} />
      <p role={message?.kind === "error" ? "alert" : "status"} data-testid="im-policy-message" className={`mt-2 text-sm ${message?.kind === "error" ? "text-red-800" : "text-slate-700"}`}>
        {message?.text ?? ""}
      </p>
    </fieldset>
  );
}
