"use client";
/** Status, note and homepage this tab publishes, with recent status+note combinations to pick again. */
import { useEffect, useId, useState, type FormEvent } from "react";
import type { MyPresence, MyStatus } from "@/lib/client";
import { usePresence, usePresenceClient } from "../presence/presence-client-context";
import { StatusBadge, StatusIcon } from "../presence/status-indicator";
import { btn, field, label } from "../ui/styles";
import { useTransientMessage } from "../ui/use-transient-message";
import { ClearAfterOptions } from "./clear-after-options";
import { MAX_NOTE_LENGTH, NoteField, noteError } from "./note-field";
import { clearAfterUntil, shownFor, untilText } from "./status-choices";

const RECENT_KEY = "herald.recentStatuses";
const MAX_RECENT = 6;

export const STATUS_OPTIONS: { value: MyStatus; label: string }[] = [
  { value: "available", label: "Available" },
  { value: "away", label: "Away" },
  { value: "extended-away", label: "Extended away" },
  { value: "busy", label: "Busy" },
  { value: "invisible", label: "Invisible (appear offline)" },
];

interface Recent {
  status: MyStatus;
  note: string;
}

function readRecent(): Recent[] {
  try {
    const v = JSON.parse(window.localStorage.getItem(RECENT_KEY) ?? "[]") as Recent[];
    return Array.isArray(v) ? v.filter((r) => r && STATUS_OPTIONS.some((o) => o.value === r.status) && typeof r.note === "string").slice(0, MAX_RECENT) : [];
  } catch {
    return [];
  }
}

function remember(list: Recent[], r: Recent): Recent[] {
  const next = [r, ...list.filter((x) => !(x.status === r.status && x.note === r.note))].slice(0, MAX_RECENT);
  try {
    window.localStorage.setItem(RECENT_KEY, JSON.stringify(next));
  } catch {
    // not kept
  }
  return next;
}

function labelOf(status: MyStatus): string {
  return STATUS_OPTIONS.find((o) => o.value === status)?.label ?? status;
}

export function MyStatusForm({ autoAwayMinutes, noteMax = MAX_NOTE_LENGTH }: { autoAwayMinutes: number; noteMax?: number }) {
  const snap = usePresence();
  const client = usePresenceClient();
  const ids = { status: useId(), clear: useId(), homepage: useId(), homepageErr: useId() };
  const me: MyPresence = snap.myPresence;
  const [status, setStatus] = useState<MyStatus>(me.status);
  const [note, setNote] = useState(me.note ?? "");
  const [homepage, setHomepage] = useState(me.homepage ?? "");
  const [clearAfter, setClearAfter] = useState("");
  const [dirty, setDirty] = useState(false);
  const [recent, setRecent] = useState<Recent[]>([]);
  const [outcome, setOutcome] = useTransientMessage();
  const [busy, setBusy] = useState(false);
  const [homepageError, setHomepageError] = useState<string | null>(null);

  useEffect(() => setRecent(readRecent()), []);

  // follow what is published (another tab, auto-away, the client starting) until the user edits
  useEffect(() => {
    if (dirty) return;
    setStatus(me.idle ? "available" : me.status);
    setNote(me.note ?? "");
    setHomepage(me.homepage ?? "");
  }, [me, dirty]);

  async function publish(next: { status: MyStatus; note: string; homepage: string; until?: string }) {
    if (!client) {
      setOutcome("Not connected yet: try again in a moment.");
      return;
    }
    setBusy(true);
    setOutcome("Publishing…", { sticky: true });
    try {
      await client.setPresence({ status: next.status, note: next.note.trim(), homepage: next.homepage.trim(), ...(next.until !== undefined ? { until: next.until } : {}) });
      setRecent((r) => remember(r, { status: next.status, note: next.note.trim() }));
      setDirty(false);
      const connected = client.store.getSnapshot().connection === "online";
      setOutcome(connected ? `Published: ${labelOf(next.status)}${next.note.trim() ? ` — ${next.note.trim()}` : ""}.` : "Saved. It is published as soon as the connection is back.");
    } catch (err) {
      setOutcome(`Publishing failed: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const h = homepage.trim();
    if (h && !/^https?:\/\/\S+$/i.test(h)) {
      setHomepageError("Enter a web address starting with https:// or http://.");
      return;
    }
    setHomepageError(null);
    if (noteError(note, noteMax)) return;
    void publish({ status, note, homepage: h, until: dirty || clearAfter ? (clearAfterUntil(clearAfter) ?? "") : undefined });
    setClearAfter("");
  }

  const pub = snap.myPublication;
  return (
    <div>
      <div className="flex flex-wrap items-center gap-2 text-sm text-slate-700" data-testid="my-current-status">
        <span>Others see:</span>
        <StatusBadge availability={shownFor(me.status)} />
        {me.idle ? <span>(automatically, after {autoAwayMinutes} idle minutes)</span> : null}
        {me.note && me.status !== "invisible" ? <span className="truncate">— {me.note}</span> : null}
        {me.until ? <span data-testid="my-until">({untilText(me.until)})</span> : null}
        <span className="text-slate-600">
          ·{" "}
          {pub.state === "published"
            ? "published"
            : pub.state === "publishing"
              ? "publishing…"
              : pub.state === "failed"
                ? `not published (${pub.error?.message ?? "error"})`
                : snap.connection === "online"
                  ? "not published yet"
                  : "waiting for the connection"}
        </span>
      </div>

      <form onSubmit={onSubmit} noValidate className="mt-4 grid gap-4 sm:grid-cols-2">
        <div>
          <label htmlFor={ids.status} className={label}>
            Status
          </label>
          <div className="relative">
            <select
              id={ids.status}
              data-testid="status-picker"
              className={`${field} pl-8`}
              value={status}
              onChange={(e) => {
                setStatus(e.target.value as MyStatus);
                setDirty(true);
              }}
            >
              {STATUS_OPTIONS.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
            <span className="pointer-events-none absolute left-2.5 top-1/2 -translate-y-1/2 pt-1">
              <StatusIcon availability={shownFor(status)} />
            </span>
          </div>
        </div>
        <NoteField
          label="Note"
          max={noteMax}
          labelClassName={label}
          placeholder="What are you up to?"
          value={note}
          onChange={(v) => {
            setNote(v);
            setDirty(true);
          }}
        />
        <div>
          <label htmlFor={ids.clear} className={label}>
            Clear after
          </label>
          <select
            id={ids.clear}
            data-testid="clear-after"
            className={field}
            value={clearAfter}
            onChange={(e) => {
              setClearAfter(e.target.value);
              setDirty(true);
            }}
          >
            <ClearAfterOptions />
          </select>
        </div>
        <div className="sm:col-span-2">
          <label htmlFor={ids.homepage} className={label}>
            Homepage
          </label>
          <input
            id={ids.homepage}
            type="url"
            autoComplete="url"
            placeholder="https://example.com/~me"
            className={field}
            value={homepage}
            aria-invalid={homepageError ? true : undefined}
            aria-describedby={homepageError ? ids.homepageErr : undefined}
            onChange={(e) => {
              setHomepage(e.target.value);
              setDirty(true);
            }}
          />
          {homepageError ? (
            <p id={ids.homepageErr} className="mt-1 text-sm text-red-800">
              {homepageError}
            </p>
          ) : null}
        </div>
        <div className="flex items-center gap-3 sm:col-span-2">
          <button type="submit" className={btn.primary} disabled={busy}>
            Publish
          </button>
          <p role="status" data-testid="publish-status" className="text-sm text-slate-700">
            {outcome}
          </p>
        </div>
      </form>

      {recent.length ? (
        <div className="mt-5">
          <h3 className="text-sm font-semibold text-slate-800">Recent</h3>
          <ul className="mt-2 flex flex-wrap gap-2" data-testid="recent-statuses">
            {recent.map((r) => (
              <li key={`${r.status}\u0000${r.note}`}>
                <button
                  type="button"
                  className={`${btn.secondary} font-normal`}
                  onClick={() => {
                    setStatus(r.status);
                    setNote(r.note);
                    void publish({ status: r.status, note: r.note, homepage });
                  }}
                >
                  <StatusIcon availability={shownFor(r.status)} />
                  <span>
                    {labelOf(r.status)}
                    {r.note ? ` — ${r.note}` : ""}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </div>
      ) : null}

      <p className="mt-4 text-sm text-slate-600">
        {autoAwayMinutes > 0
          ? `When you are available, Herald shows you as away after ${autoAwayMinutes} minutes without activity in this page, and available again when you come back.`
          : "Automatic away is switched off on this server."}
      </p>
    </div>
  );
}
