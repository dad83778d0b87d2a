"use client";
import { memo, useEffect, useId, useState } from "react";
import type { ContactPresence } from "@/lib/client";
import { ContactIcon, type XcapLocation } from "../presence/contact-icon";
import { isOnline, StatusBadge, StatusIcon, type ShownAvailability } from "../presence/status-indicator";
import { Menu } from "../ui/menu";
import { focusRing } from "../ui/styles";
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
  /** Unique among the rows on screen (a contact in two groups has two rows). */
  rowKey: string;
  /** The roving tab stop: the one row of the list that Tab reaches. */
  focusable: boolean;
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
  /** The last picture the contact published (kept while they are offline). */
  iconUrl?: string;
  /** "Idle 12 min", "Last seen 2 h ago" (already worded), or undefined. */
  seen?: string;
  onFocusRow: (rowKey: string) => void;
  onEdit: () => void;
  onGroups: () => void;
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
  const online = isOnline(p.availability);
  // content-visibility: the browser lays out only the rows on screen (a 200-row list); it contains
  // paint, which would clip the open actions menu, so a row with a menu or details open drops it
  return (
    <li
      data-testid={`contact-${primary}`}
      data-availability={p.availability}
      data-contact-id={p.contactId}
      className="group border-b border-slate-100 last:border-b-0 [contain-intrinsic-block-size:auto_3.5rem] [content-visibility:auto] has-[[aria-expanded=true]]:[content-visibility:visible]"
      onKeyDown={(e) => {
        if (e.key === "Escape" && open) {
          e.preventDefault();
          setOpen(false);
          e.currentTarget.querySelector<HTMLElement>("[data-row-key]")?.focus();
        }
      }}
    >
      <div className="flex items-center gap-2 px-2 py-1.5 hover:bg-slate-50 focus-within:bg-slate-50 sm:gap-3 sm:px-3">
        <div className="relative shrink-0">
          <ContactIcon name={p.name} colourKey={primary} url={p.iconUrl ?? p.presence?.summary?.iconUrl} xcap={p.xcap} dimmed={!online} />
          <span className="absolute -bottom-0.5 -right-0.5 rounded-full bg-white p-px">
            <StatusIcon availability={p.availability} size={13} />
          </span>
        </div>
        <button
          type="button"
          data-row-key={p.rowKey}
          tabIndex={p.focusable ? 0 : -1}
          aria-expanded={open}
          aria-controls={open ? detailsId : undefined}
          onFocus={() => p.onFocusRow(p.rowKey)}
          onClick={() => setOpen((o) => !o)}
          className={`min-w-0 flex-1 rounded-md px-1 py-0.5 text-left ${focusRing}`}
        >
          <span className="flex min-w-0 items-baseline gap-2">
            <span className="truncate font-medium text-slate-900" data-testid="contact-name">
              {p.name}
            </span>
            {p.saving ? <span className="shrink-0 text-xs text-slate-600">Saving…</span> : null}
          </span>
          <span className="flex min-w-0 flex-wrap items-baseline gap-x-2">
            <StatusBadge availability={p.availability} className="shrink-0" />
            <span data-testid="contact-note" className="min-w-0 grow basis-24 truncate text-sm text-slate-600" title={note}>
              {note ?? <span className="text-slate-600">{primary.replace(/^sips?:/, "")}</span>}
            </span>
            {p.seen ? (
              <span data-testid="contact-seen" className="shrink-0 text-xs text-slate-600">
                {p.seen}
              </span>
            ) : null}
          </span>
          <span className="sr-only">{open ? ", hide details" : ", show details"}</span>
        </button>
        <ChatButton peer={primary} name={p.name} />
        <Menu
          label={`Actions for ${p.name}`}
          tabIndex={-1}
          testId="contact-actions"
          buttonProps={{ "data-row-menu": "" }}
          items={[
            { label: open ? "Hide details" : "Details", srLabel: `for ${p.name}`, onSelect: () => setOpen((o) => !o) },
            { label: "Edit", srLabel: p.name, onSelect: p.onEdit, disabled: p.saving },
            { label: "Groups…", srLabel: `of ${p.name}`, onSelect: p.onGroups, disabled: p.saving },
            { label: p.blocked ? "Unblock" : "Block", srLabel: p.name, onSelect: p.onBlock, disabled: p.saving },
            { label: "Delete", srLabel: p.name, onSelect: p.onDelete, disabled: p.saving },
          ]}
        />
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
    a.rowKey === b.rowKey &&
    a.focusable === b.focusable &&
    a.iconUrl === b.iconUrl &&
    a.seen === b.seen &&
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
