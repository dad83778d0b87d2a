"use client";
/**
 * Your own status at the top of the buddy list (as in Gmail, Teams, Slack and Blink): picture,
 * an availability menu, the note edited in place and "clear after". Every change publishes at
 * once through the page's client, so My Presence and the list show the same state.
 */
import { useEffect, useState } from "react";
import type { MyPresence, MyStatus } from "@/lib/client";
import { usePresence, usePresenceClient } from "../presence/presence-client-context";
import { ContactIcon, type XcapLocation } from "../presence/contact-icon";
import { StatusIcon, AVAILABILITY_TEXT } from "../presence/status-indicator";
import { Menu } from "../ui/menu";
import { field, focusRing } from "../ui/styles";
import { useTransientMessage } from "../ui/use-transient-message";
import { ClearAfterOptions } from "../my-presence/clear-after-options";
import { MAX_NOTE_LENGTH, NoteField, noteError } from "../my-presence/note-field";
import { clearAfterUntil, MY_STATUS_LABEL, shownFor, untilText } from "../my-presence/status-choices";

export function MyStatusBar({ address, name, xcap, noteMax = MAX_NOTE_LENGTH }: { address: string; name: string; xcap: XcapLocation | null; noteMax?: number }) {
  const snap = usePresence();
  const client = usePresenceClient();
  const me: MyPresence = snap.myPresence;
  const status: MyStatus = me.idle ? "available" : me.status;
  const [note, setNote] = useState(me.note ?? "");
  const [editing, setEditing] = useState(false);
  const [clearChoice, setClearChoice] = useState("");
  const [outcome, show] = useTransientMessage();

  // follow what is published (My Presence, another tab, a status that cleared) unless typing
  useEffect(() => {
    if (!editing) setNote(me.note ?? "");
  }, [me.note, editing]);
  useEffect(() => {
    if (!me.until) setClearChoice("");
  }, [me.until]);

  async function publish(patch: Partial<MyPresence>, what: string) {
    if (!client) {
      show("Not connected yet: try again in a moment.");
      return;
    }
    show("Publishing…", { sticky: true });
    try {
      await client.setPresence(patch);
      const connected = client.store.getSnapshot().connection === "online";
      show(connected ? `Published: ${what}.` : "Saved. It is published as soon as the connection is back.");
    } catch (err) {
      show(`Publishing failed: ${(err as Error).message}`);
    }
  }

  function commitNote() {
    const next = note.trim();
    // a note that is too long stays in the field with its message, for the user to shorten
    if (noteError(next, noteMax)) return;
    setEditing(false);
    if (next === (me.note ?? "")) return;
    void publish({ note: next }, next ? `note “${next}”` : "note cleared");
  }

  const shown = shownFor(me.status);
  return (
    <section aria-label="Your status" data-testid="my-status-bar" className="flex flex-wrap items-start gap-x-3 gap-y-2 border-b border-slate-200 p-3">
      <ContactIcon name={name} colourKey={`sip:${address}`} url={me.iconUrl} xcap={xcap} size={44} />
      <div className="min-w-0 flex-1 basis-48">
        <div className="flex min-w-0 flex-wrap items-center gap-x-2">
          <span className="truncate font-semibold text-slate-900" data-testid="my-name">
            {name}
          </span>
          <Menu
            label={`Your status: ${MY_STATUS_LABEL[me.status]}. Change status`}
            testId="my-status-menu"
            align="left"
            buttonClassName={`inline-flex items-center gap-1.5 rounded-md px-1.5 py-0.5 text-sm font-medium hover:bg-slate-100 ${AVAILABILITY_TEXT[shown]} ${focusRing}`}
            buttonContent={
              <>
                <StatusIcon availability={shown} />
                <span data-testid="my-status-label">{MY_STATUS_LABEL[me.status]}</span>
                {me.idle ? <span className="text-slate-600">(idle)</span> : null}
                <span aria-hidden="true">▾</span>
              </>
            }
            items={(Object.keys(MY_STATUS_LABEL) as MyStatus[]).map((s) => ({
              role: "menuitemradio" as const,
              checked: s === status,
              testId: `my-status-${s}`,
              label: (
                <>
                  <StatusIcon availability={shownFor(s)} />
                  {MY_STATUS_LABEL[s]}
                </>
              ),
              onSelect: () => void publish({ status: s }, MY_STATUS_LABEL[s]),
            }))}
          />
          {me.until ? (
            <span className="text-xs text-slate-600" data-testid="my-status-until">
              {untilText(me.until)}
            </span>
          ) : null}
        </div>
        <form
          className="mt-1 flex flex-wrap items-start gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            commitNote();
          }}
        >
          <div className="min-w-0 flex-1 basis-40">
            <NoteField
              label="Your note"
              max={noteMax}
              labelClassName="sr-only"
              value={note}
              placeholder="Set a note…"
              data-testid="my-note"
              className={`${field} mt-0 py-1`}
              onFocus={() => setEditing(true)}
              onChange={(v) => {
                setEditing(true);
                setNote(v);
              }}
              onBlur={commitNote}
              onKeyDown={(e) => {
                if (e.key === "Escape") {
                  setNote(me.note ?? "");
                  setEditing(false);
                  e.currentTarget.blur();
                }
              }}
            />
          </div>
          <label className="flex items-center gap-1.5 whitespace-nowrap text-sm text-slate-700">
            <span>Clear after</span>
            <select
              className={`${field} mt-0 w-auto py-1`}
              data-testid="my-clear-after"
              value={clearChoice}
              onChange={(e) => {
                const v = e.target.value;
                setClearChoice(v);
                const until = clearAfterUntil(v);
                void publish({ until: until ?? "" }, until ? untilText(until) : "status kept until you change it");
              }}
            >
              <ClearAfterOptions />
            </select>
          </label>
        </form>
        <p role="status" data-testid="my-status-outcome" className="min-h-4 text-xs text-slate-700">
          {outcome}
        </p>
      </div>
    </section>
  );
}
