"use client";
import { memo, useEffect, useId, useState } from "react";
import type { ContactPresence } from "@/lib/client";
import { ContactIcon, type XcapLocation } from "../presence/contact-icon";
import { StatusBadge, StatusIcon, type ShownAvailability } from "../presence/status-indicator";
import { btn } from "../ui/styles";
import { PresenceDetails } from "./presence-details";
import { ChatButton } from "../chat/chat-button";

export const NOTE_ROTATION_MS = 10_000;

/** Show one line at a time, the next every 10 s. */
function useRotating(lines: string[]): string | undefined {
  const [tick, setTick] = useState(0);
  const count = lines.length;
  useEffect(() => {
    if (count < 2) return;
    const t = setInterval(() => setTick((x) => x + 1), NOTE_ROTATION_MS);
    return () => clearInterval(t);
  }, [count]);
  return count ? lines[tick % count] : undefined;
}

export interface ContactRowProps {
  contactId: string;
  /** The address-book entry the row is for (compared by identity: a changed entry re-renders the row). */
  entry?: unknown;
  name: string;
  uris: string[];
  presence: ContactPresence | undefined;
  availability: ShownAvailability;
  subscribed: boolean;
  blocked: boolean;
  saving: boolean;
  xcap: XcapLocation | null;
  onEdit: () => void;
  onMove: () => void;
  onDelete: () => void;
  onBlock: () => void;
}

/**
 * The name a row shows: the saved name, else the address. Never the name the contact publishes,
 * which comes and goes with their presence (Info shows it as "Published name").
 */
export function contactDisplayName(savedName: string, uris: readonly string[]): string {
  return savedName || (uris[0] ?? "").replace(/^sips?:/, "");
}

export function noteLines(presence: ContactPresence | undefined, subscribed: boolean, blocked: boolean): string[] {
  const lines: string[] = [];
  if (presence?.summary) for (const n of presence.summary.notes) if (n.text && !lines.includes(n.text)) lines.push(n.text);
  if (presence?.state === "pending") lines.push("Waiting for authorization");
  if (presence?.state === "terminated" && presence.reason === "rejected") lines.push("Does not share status with you");
  // RFC 6665 §4.1.3 reasons the RLS gives a back end it could not subscribe (RFC 4662 §5.2)
  if (presence?.state === "terminated" && presence.reason === "noresource") lines.push("No such user");
  if (presence?.state === "terminated" && presence.reason === "probation") lines.push("Cannot be reached right now");
  if (!subscribed && !lines.length) lines.push("Not following status");
  if (blocked) lines.push("Blocked: cannot see your status");
  return lines;
}

function ContactRowView(p: ContactRowProps) {
  const [open, setOpen] = useState(false);
  const detailsId = useId();
  const primary = p.uris[0] ?? "";
  const note = useRotating(noteLines(p.presence, p.subscribed, p.blocked));
  return (
    <li data-testid={`contact-${primary}`} data-availability={p.availability} data-contact-id={p.contactId} className="group border-b border-slate-100 last:border-b-0">
      <div className="flex items-center gap-3 px-3 py-2 hover:bg-slate-50 focus-within:bg-slate-50">
        <div className="relative">
          <ContactIcon name={p.name} url={p.presence?.summary?.iconUrl} xcap={p.xcap} />
          <span className="absolute -bottom-0.5 -right-0.5 rounded-full bg-white p-px">
            <StatusIcon availability={p.availability} size={13} />
          </span>
        </div>
        <div className="min-w-0 flex-1">
          <div className="flex min-w-0 items-baseline gap-2">
            <span className="truncate font-medium text-slate-900" data-testid="contact-name">
              {p.name}
            </span>
            <StatusBadge availability={p.availability} className="shrink-0" />
            {p.saving ? <span className="shrink-0 text-xs text-slate-600">Saving…</span> : null}
          </div>
          <p data-testid="contact-note" className="truncate text-sm text-slate-600" title={note}>
            {note ?? <span className="text-slate-500">{primary.replace(/^sips?:/, "")}</span>}
          </p>
        </div>
        <ChatButton peer={primary} name={p.name} />
        <div className="flex shrink-0 items-center gap-0.5 sm:opacity-0 sm:group-hover:opacity-100 sm:group-focus-within:opacity-100">
          <button type="button" className={btn.ghost} aria-expanded={open} aria-controls={open ? detailsId : undefined} onClick={() => setOpen((o) => !o)}>
            Info<span className="sr-only"> — show presence information for {p.name}</span>
          </button>
          <button type="button" className={btn.ghost} onClick={p.onEdit} disabled={p.saving}>
            Edit<span className="sr-only"> {p.name}</span>
          </button>
          <button type="button" className={btn.ghost} onClick={p.onMove} disabled={p.saving}>
            Move<span className="sr-only"> {p.name}</span>
          </button>
          <button type="button" className={btn.ghost} onClick={p.onBlock} disabled={p.saving}>
            {p.blocked ? "Unblock" : "Block"}
            <span className="sr-only"> {p.name}</span>
          </button>
          <button type="button" className={btn.ghost} onClick={p.onDelete} disabled={p.saving}>
            Delete<span className="sr-only"> {p.name}</span>
          </button>
        </div>
      </div>
      {open ? <PresenceDetails id={detailsId} name={p.name} uris={p.uris} presence={p.presence} availability={p.availability} subscribed={p.subscribed} /> : null}
    </li>
  );
}

/**
 * Rows re-render only when what they show changes: a presence update of one contact, or a store
 * change that is not about contacts at all (connection, winfo), must not re-render the other 199
 * rows of a long list. The callbacks are left out of the comparison: they act on the entry, URIs
 * and group a row is rendered for, which are compared.
 */
function sameRow(a: ContactRowProps, b: ContactRowProps): boolean {
  return (
    a.contactId === b.contactId &&
    a.entry === b.entry &&
    a.name === b.name &&
    a.presence === b.presence &&
    a.availability === b.availability &&
    a.subscribed === b.subscribed &&
    a.blocked === b.blocked &&
    a.saving === b.saving &&
    a.xcap === b.xcap &&
    a.uris.length === b.uris.length &&
    a.uris.every((u, i) => u === b.uris[i])
  );
}

export const ContactRow = memo(ContactRowView, sameRow);
