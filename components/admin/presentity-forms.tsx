"use client";
/**
 * Console: virtual presentities — add one with its first presence, set its presence, edit who may
 * watch it (domains whose users may, and single addresses), delete it after a confirmation.
 */
import { useId, useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import type { ActionResult } from "@/lib/portal/wire-types";
import { AVAILABILITY_LABEL } from "../presence/status-indicator";
import { ConfirmDelete } from "./confirm-delete";
import { attempt, Outcome, type Message } from "./outcome";
import { btn, card, field, label, muted } from "./styles";

export const PRESENTITY_AVAILABILITIES = ["available", "away", "extended-away", "busy", "offline"] as const;
export type PresentityAvailability = (typeof PRESENTITY_AVAILABILITIES)[number];

/** A virtual presentity as the console shows it (times as ISO strings). */
export interface PresentityRow {
  address: string;
  availability: PresentityAvailability;
  note: string | null;
  watchers: { domains: string[]; addresses: string[] };
  updatedAt: string;
}

export interface PresentityActions {
  savePresentityPresence: (address: string, presence: { availability: string; note?: string }) => Promise<ActionResult<{ address: string; created: boolean }>>;
  savePresentityWatchers: (address: string, watchers: { domains: string[]; addresses: string[] }) => Promise<ActionResult<null>>;
  removePresentity: (address: string) => Promise<ActionResult<null>>;
}

/** Run an action with progress and outcome in `setMessage`; true when it succeeded. */
function useRunner() {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message>(null);
  async function run<T>(progress: string, call: () => Promise<ActionResult<T>>, done: (data: T) => string): Promise<boolean> {
    setBusy(true);
    setMessage({ kind: "ok", text: progress });
    const r = await attempt(call);
    setBusy(false);
    setMessage(r.ok ? { kind: "ok", text: done(r.data) } : { kind: "error", text: r.error });
    if (r.ok) router.refresh();
    return r.ok;
  }
  return { busy, message, run, router };
}

function PresenceFields({ idPrefix, initial }: { idPrefix: string; initial?: { availability: PresentityAvailability; note: string | null } }) {
  return (
    <>
      <div>
        <label htmlFor={`${idPrefix}-availability`} className={label}>Status</label>
        <select id={`${idPrefix}-availability`} name="availability" defaultValue={initial?.availability ?? "available"} className={field}>
          {PRESENTITY_AVAILABILITIES.map((a) => (
            <option key={a} value={a}>{AVAILABILITY_LABEL[a]}</option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor={`${idPrefix}-note`} className={label}>Note</label>
        <input id={`${idPrefix}-note`} name="note" defaultValue={initial?.note ?? ""} maxLength={1000} autoComplete="off" className={field} />
      </div>
    </>
  );
}

const presenceOf = (d: FormData) => ({ availability: String(d.get("availability") ?? "available"), note: String(d.get("note") ?? "") });

/** "Add a virtual presentity": its address and first presence (watchable by every user of its domain). */
export function CreatePresentityForm({ save }: { save: PresentityActions["savePresentityPresence"] }) {
  const id = useId();
  const { busy, message, run } = useRunner();
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const d = new FormData(form);
    const address = String(d.get("address") ?? "").trim();
    if (await run("Adding…", () => save(address, presenceOf(d)), (r) => (r.created ? `${r.address} added.` : `${r.address} exists; its presence was set.`))) form.reset();
  }
  return (
    <form onSubmit={submit} aria-label="Add virtual presentity" className="grid gap-3 sm:grid-cols-3 sm:items-end">
      <div>
        <label htmlFor={`${id}-address`} className={label}>SIP address</label>
        <input id={`${id}-address`} name="address" required placeholder="weather@example.com" autoComplete="off" className={field} />
      </div>
      <PresenceFields idPrefix={id} />
      <div className="sm:col-span-3">
        <button type="submit" disabled={busy} className={btn.primary}>Add virtual presentity</button>
        <p className={`mt-1 text-xs ${muted}`}>Every user of its domain may watch it until you change that on its page.</p>
        <Outcome testId="create-presentity-status" message={message} />
      </div>
    </form>
  );
}

const lines = (v: FormDataEntryValue | null) => String(v ?? "").split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

/** One virtual presentity's page: presence, who may watch, delete. */
export function PresentityEditor({ presentity, actions }: { presentity: PresentityRow; actions: PresentityActions }) {
  const id = useId();
  const { busy, message, run, router } = useRunner();
  const [confirming, setConfirming] = useState(false);
  const a = presentity.address;

  async function savePresence(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const p = presenceOf(new FormData(e.currentTarget));
    await run("Saving…", () => actions.savePresentityPresence(a, p), () => `Presence set: ${AVAILABILITY_LABEL[p.availability as PresentityAvailability] ?? p.availability}${p.note.trim() ? `, “${p.note.trim()}”` : ""}.`);
  }

  async function saveWatchers(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    const watchers = { domains: lines(d.get("domains")), addresses: lines(d.get("addresses")) };
    await run("Saving…", () => actions.savePresentityWatchers(a, watchers), () => (watchers.domains.length + watchers.addresses.length === 0 ? "Nobody may watch it now." : "Watchers saved."));
  }

  return (
    <div className="mt-4 grid gap-4 md:grid-cols-2">
      <section aria-labelledby={`${id}-presence`} className={card}>
        <h2 id={`${id}-presence`} className="text-base font-semibold">Presence</h2>
        <form onSubmit={savePresence} aria-label="Set presence" className="mt-3 grid gap-3">
          <PresenceFields idPrefix={id} initial={presentity} />
          <div>
            <button type="submit" disabled={busy} className={btn.primary}>Set presence</button>
          </div>
        </form>
      </section>
      <section aria-labelledby={`${id}-watchers`} className={card}>
        <h2 id={`${id}-watchers`} className="text-base font-semibold">Who may watch</h2>
        <p className={`mt-1 text-sm ${muted}`}>Everyone else is refused. One entry per line.</p>
        <form onSubmit={saveWatchers} aria-label="Who may watch" className="mt-3 grid gap-3">
          <div>
            <label htmlFor={`${id}-domains`} className={label}>Every user of these domains</label>
            <textarea id={`${id}-domains`} name="domains" rows={3} defaultValue={presentity.watchers.domains.join("\n")} className={field} />
          </div>
          <div>
            <label htmlFor={`${id}-addresses`} className={label}>And these users (user@domain)</label>
            <textarea id={`${id}-addresses`} name="addresses" rows={3} defaultValue={presentity.watchers.addresses.join("\n")} className={field} />
          </div>
          <div>
            <button type="submit" disabled={busy} className={btn.secondary}>Save watchers</button>
          </div>
        </form>
      </section>
      <div className="md:col-span-2">
        <button type="button" disabled={busy} className={btn.danger} onClick={() => setConfirming(true)}>
          Delete virtual presentity
        </button>
        <Outcome testId="presentity-status" message={message} />
      </div>
      <ConfirmDelete
        open={confirming}
        onClose={() => setConfirming(false)}
        title={`Delete ${a}?`}
        description="Its watchers' subscriptions end and its presence is gone. This cannot be undone."
        testId="confirm-delete-presentity"
        busy={busy}
        onDelete={async () => {
          if (await run("Deleting…", () => actions.removePresentity(a), () => "Deleted.")) {
            setConfirming(false);
            router.push(`/admin/presentities?deleted=${encodeURIComponent(a)}`);
          }
        }}
      />
    </div>
  );
}
