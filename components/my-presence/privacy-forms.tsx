"use client";
/** Offline status (pidf-manipulation), default policy for unknown watchers, who can see me, blocked. */
import { RadioChoices } from "../ui/radio-choices";
import { useId, useState, type FormEvent } from "react";
import type { ActionResult } from "@/lib/portal/wire-types";
import type { DefaultPolicy } from "@/lib/xcap/addressbook/model";
import { useSyncedState } from "@/lib/client/use-synced-state";
import { usePresence } from "../presence/presence-client-context";
import { btn, field, label } from "../ui/styles";

function Outcome({ testId, message }: { testId: string; message: { kind: "ok" | "error"; text: string } | null }) {
  return (
    <p role={message?.kind === "error" ? "alert" : "status"} data-testid={testId} className={`text-sm ${message?.kind === "error" ? "text-red-800" : "text-slate-700"}`}>
      {message?.text ?? ""}
    </p>
  );
}

type Message = { kind: "ok" | "error"; text: string } | null;

async function attempt<T>(call: () => Promise<ActionResult<T>>): Promise<ActionResult<T>> {
  try {
    return await call();
  } catch {
    return { ok: false, code: "network", error: "Herald could not be reached. Try again." };
  }
}

export interface OfflineStatusActions {
  saveOfflineStatus: (note: string) => Promise<ActionResult<null>>;
  deleteOfflineStatus: () => Promise<ActionResult<null>>;
}

export function OfflineStatusForm({ initial, actions }: { initial: { note: string | null; set: boolean }; actions: OfflineStatusActions }) {
  const id = useId();
  const hint = useId();
  const [note, setNote] = useSyncedState(initial.note ?? "");
  const [isSet, setIsSet] = useSyncedState(initial.set);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message>(null);

  async function save(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setMessage({ kind: "ok", text: "Saving…" });
    const r = await attempt(() => actions.saveOfflineStatus(note.trim()));
    setBusy(false);
    if (!r.ok) return setMessage({ kind: "error", text: r.error });
    setIsSet(true);
    setMessage({ kind: "ok", text: "Offline status saved." });
  }

  async function clear() {
    setBusy(true);
    setMessage({ kind: "ok", text: "Clearing…" });
    const r = await attempt(() => actions.deleteOfflineStatus());
    setBusy(false);
    if (!r.ok) return setMessage({ kind: "error", text: r.error });
    setIsSet(false);
    setNote("");
    setMessage({ kind: "ok", text: "Offline status cleared." });
  }

  return (
    <form onSubmit={save} className="space-y-2" data-testid="offline-status" data-set={isSet ? "true" : "false"}>
      <label htmlFor={id} className={label}>
        Offline note
      </label>
      <input
        id={id}
        type="text"
        maxLength={500}
        autoComplete="off"
        placeholder="Back on Monday"
        aria-describedby={hint}
        className={field}
        value={note}
        onChange={(e) => setNote(e.target.value)}
      />
      <p id={hint} className="text-xs text-slate-600">
        {isSet ? "Set: contacts" : "Not set. Contacts"} see this note while none of your devices is online.
      </p>
      <div className="flex flex-wrap items-center gap-2">
        <button type="submit" className={btn.primary} disabled={busy}>
          Save offline status
        </button>
        {isSet ? (
          <button type="button" className={btn.secondary} disabled={busy} onClick={() => void clear()}>
            Clear offline status
          </button>
        ) : null}
        <Outcome testId="offline-status-message" message={message} />
      </div>
    </form>
  );
}

const POLICY_OPTIONS: { value: DefaultPolicy; label: string; hint: string }[] = [
  { value: "confirm", label: "Ask me", hint: "They appear under New contact requests until you allow or block them." },
  { value: "allow", label: "Allow", hint: "Anyone may see your status." },
  { value: "block", label: "Block", hint: "They are refused." },
  { value: "polite-block", label: "Polite block", hint: "They are told you are offline." },
];

export function DefaultPolicyForm({ initial, setDefaultPolicy }: { initial: DefaultPolicy; setDefaultPolicy: (p: DefaultPolicy) => Promise<ActionResult<null>> }) {
  const name = useId();
  const [policy, setPolicy] = useSyncedState<DefaultPolicy>(initial);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message>(null);

  async function choose(next: DefaultPolicy) {
    const before = policy;
    setPolicy(next);
    setBusy(true);
    setMessage({ kind: "ok", text: "Saving…" });
    const r = await attempt(() => setDefaultPolicy(next));
    setBusy(false);
    if (!r.ok) {
      setPolicy(before);
      return setMessage({ kind: "error", text: r.error });
    }
    setMessage({ kind: "ok", text: `Saved: ${POLICY_OPTIONS.find((o) => o.value === next)?.label}.` });
  }

  return (
    <fieldset data-testid="default-policy" aria-busy={busy}>
      <legend className={label}>When someone not in my contacts asks to see my status</legend>
      <RadioChoices name={name} choices={POLICY_OPTIONS} value={policy} disabled={busy} onChoose={(v) => void choose(v)} />
      <div className="mt-2">
        <Outcome testId="default-policy-message" message={message} />
      </div>
    </fieldset>
  );
}

export interface WatcherActions {
  setUriPolicy: (uri: string, action: "allow" | "block" | "unblock") => Promise<ActionResult<null>>;
}

export function WatchersPanel({ self, initialBlocked, names, actions }: { self: string; initialBlocked: string[]; names: Record<string, string>; actions: WatcherActions }) {
  const snap = usePresence();
  const [blocked, setBlocked] = useSyncedState<string[]>(initialBlocked);
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<Message>(null);
  const headingWho = useId();
  const headingBlocked = useId();
  const nameOf = (uri: string, display?: string) => display || names[uri] || uri.replace(/^sips?:/, "");

  async function change(uri: string, action: "block" | "unblock", who: string) {
    const before = blocked;
    setBlocked(action === "block" ? [...new Set([...blocked, uri])] : blocked.filter((u) => u !== uri));
    setBusy(uri);
    setMessage({ kind: "ok", text: `${action === "block" ? "Blocking" : "Unblocking"} ${who}…` });
    const r = await attempt(() => actions.setUriPolicy(uri, action));
    setBusy(null);
    if (!r.ok) {
      setBlocked(before);
      return setMessage({ kind: "error", text: r.error });
    }
    setMessage({ kind: "ok", text: `${who} ${action === "block" ? "blocked" : "unblocked"}.` });
  }

  // the user's own other devices and tabs watch too; they are not "someone"
  const watching = snap.activeWatchers.filter((w) => w.uri !== self && !blocked.includes(w.uri));
  return (
    <div className="space-y-5">
      <section aria-labelledby={headingWho}>
        <h3 id={headingWho} className="text-sm font-semibold text-slate-800">
          Who can see me now
        </h3>
        {watching.length ? (
          <ul className="mt-2 divide-y divide-slate-100 rounded-md border border-slate-200" data-testid="watchers">
            {watching.map((w) => {
              const who = nameOf(w.uri, w.displayName);
              return (
                <li key={w.uri} data-testid={`watcher-${w.uri}`} className="flex items-center gap-3 px-3 py-2">
                  <div className="min-w-0 flex-1">
                    <p className="truncate text-sm font-medium text-slate-900">{who}</p>
                    <p className="truncate text-xs text-slate-600">{w.uri.replace(/^sips?:/, "")}</p>
                  </div>
                  <button type="button" className={btn.secondary} disabled={busy === w.uri} onClick={() => void change(w.uri, "block", who)}>
                    Block<span className="sr-only"> {who}</span>
                  </button>
                </li>
              );
            })}
          </ul>
        ) : (
          <p className="mt-1 text-sm text-slate-600">{snap.connection === "online" ? "Nobody is watching your status right now." : "Shown once connected."}</p>
        )}
      </section>
      <section aria-labelledby={headingBlocked}>
        <h3 id={headingBlocked} className="text-sm font-semibold text-slate-800">
          Blocked
        </h3>
        {blocked.length ? (
          <ul className="mt-2 divide-y divide-slate-100 rounded-md border border-slate-200" data-testid="blocked-list">
            {blocked.map((uri) => {
              const who = nameOf(uri);
              return (
                <li key={uri} data-testid={`blocked-${uri}`} className="flex items-center gap-3 px-3 py-2">
                  <div className="min-w-0 flex-1">
                    <p className="truncate text-sm font-medium text-slate-900">{who}</p>
                    <p className="truncate text-xs text-slate-600">{uri.replace(/^sips?:/, "")}</p>
                  </div>
                  <button type="button" className={btn.secondary} disabled={busy === uri} onClick={() => void change(uri, "unblock", who)}>
                    Unblock<span className="sr-only"> {who}</span>
                  </button>
                </li>
              );
            })}
          </ul>
        ) : (
          <p className="mt-1 text-sm text-slate-600">Nobody is blocked.</p>
        )}
      </section>
      <Outcome testId="watchers-message" message={message} />
    </div>
  );
}

/**
 * The permanent status the operator set ("On leave until 3 January"): every watcher sees it with
 * the user's status until it is cleared, here or by the operator.
 */
export function PermanentStatusNotice({ initial, clearPermanentStatus }: { initial: string; clearPermanentStatus: () => Promise<ActionResult<null>> }) {
  const [status, setStatus] = useState<string | null>(initial);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message>(null);

  async function clear() {
    setBusy(true);
    setMessage({ kind: "ok", text: "Clearing…" });
    const r = await attempt(clearPermanentStatus);
    setBusy(false);
    if (!r.ok) return setMessage({ kind: "error", text: r.error });
    setStatus(null);
    setMessage({ kind: "ok", text: "Permanent status cleared." });
  }

  return (
    <div className="space-y-2" data-testid="permanent-status">
      {status !== null ? (
        <>
          <p className="text-sm">
            Your operator set a permanent status that your contacts see with your status: <q data-testid="permanent-status-text" className="font-medium">{status}</q>
          </p>
          <button type="button" disabled={busy} onClick={clear} className={btn.secondary}>
            Clear permanent status
          </button>
        </>
      ) : null}
      <Outcome testId="permanent-status-outcome" message={message} />
    </div>
  );
}
