"use client";
/**
 * Console: a department list — its address (when new), display name and members, one a line
 * (`alice@example.test Alice Liddell`: the address, then the name the list shows, if any) — and
 * deleting it.
 */
import { useId, useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import type { ActionResult } from "@/lib/portal/wire-types";
import type { DepartmentListView } from "@/lib/accounts/department-lists";
import { Dialog } from "../ui/dialog";
import { attempt, Outcome, type Message } from "./outcome";
import { btn, field, label, muted } from "./styles";

type ListInput = { address: string; displayName: string; members: Array<{ address: string; displayName?: string }> };

export interface DepartmentListActions {
  save: (input: ListInput) => Promise<ActionResult<DepartmentListView>>;
  remove?: (address: string) => Promise<ActionResult<null>>;
}

/** Members as typed: one a line, the address first, then the display name (blank lines ignored). */
export function parseMembers(text: string): ListInput["members"] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [address, ...name] = l.split(/\s+/);
      return name.length ? { address: address!, displayName: name.join(" ") } : { address: address! };
    });
}

export function membersText(list: Pick<DepartmentListView, "members">): string {
  return list.members.map((m) => (m.displayName ? `${m.address} ${m.displayName}` : m.address)).join("\n");
}

export function DepartmentListForm({ list, actions }: { list?: DepartmentListView; actions: DepartmentListActions }) {
  const id = useId();
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message>(null);
  const [confirming, setConfirming] = useState(false);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const d = new FormData(form);
    const input: ListInput = {
      address: list?.address ?? String(d.get("address") ?? "").trim(),
      displayName: String(d.get("displayName") ?? ""),
      members: parseMembers(String(d.get("members") ?? "")),
    };
    setBusy(true);
    setMessage({ kind: "ok", text: "Saving…" });
    const r = await attempt(() => actions.save(input));
    setBusy(false);
    if (!r.ok) return setMessage({ kind: "error", text: r.error });
    setMessage({ kind: "ok", text: list ? `Saved: ${r.data.members.length} members.` : `List ${r.data.address} created with ${r.data.members.length} members.` });
    if (!list) form.reset();
    router.refresh();
  }

  async function remove() {
    if (!list || !actions.remove) return;
    setConfirming(false);
    setBusy(true);
    const r = await attempt(() => actions.remove!(list.address));
    setBusy(false);
    if (!r.ok) return setMessage({ kind: "error", text: r.error });
    router.push(`/admin/lists?deleted=${encodeURIComponent(list.address)}`);
  }

  return (
    <>
      <form onSubmit={submit} aria-label={list ? "Edit list" : "Add list"} className="grid gap-3">
        {list ? null : (
          <div>
            <label htmlFor={`${id}-address`} className={label}>SIP address of the list</label>
            <input id={`${id}-address`} name="address" required maxLength={320} placeholder="engineering@example.test" className={field} />
          </div>
        )}
        <div>
          <label htmlFor={`${id}-name`} className={label}>Display name</label>
          <input id={`${id}-name`} name="displayName" defaultValue={list?.displayName ?? ""} maxLength={128} className={field} />
        </div>
        <div>
          <label htmlFor={`${id}-members`} className={label}>Members</label>
          <p id={`${id}-members-hint`} className={`text-xs ${muted}`}>One a line: the SIP address, then the name the list shows (optional).</p>
          <textarea
            id={`${id}-members`}
            name="members"
            rows={8}
            aria-describedby={`${id}-members-hint`}
            defaultValue={list ? membersText(list) : ""}
            className={`${field} font-mono`}
          />
        </div>
        <div className="flex flex-wrap gap-2">
          <button type="submit" disabled={busy} className={btn.primary}>{list ? "Save list" : "Add list"}</button>
          {list && actions.remove ? (
            <button type="button" disabled={busy} className={btn.danger} onClick={() => setConfirming(true)}>Delete list</button>
          ) : null}
        </div>
        <Outcome testId={list ? "edit-list-status" : "create-list-status"} message={message} />
      </form>
      {list ? (
        <Dialog open={confirming} onClose={() => setConfirming(false)} title={`Delete ${list.address}?`} description="Its subscribers' list subscriptions end." testId="delete-list-dialog">
          <div className="flex justify-end gap-2">
            <button type="button" className={btn.secondary} onClick={() => setConfirming(false)}>Cancel</button>
            <button type="button" className={btn.danger} onClick={() => void remove()}>Delete</button>
          </div>
        </Dialog>
      ) : null}
    </>
  );
}
