"use client";
/** The console's "Delete …?" confirmation: Cancel, or Delete (disabled while an action runs). */
import { Dialog } from "../ui/dialog";
import { btn } from "./styles";

export function ConfirmDelete({ open, onClose, title, description, testId, busy, onDelete }: { open: boolean; onClose: () => void; title: string; description: string; testId: string; busy: boolean; onDelete: () => void }) {
  return (
    <Dialog open={open} onClose={onClose} title={title} description={description} testId={testId}>
      <div className="mt-4 flex justify-end gap-2">
        <button type="button" className={btn.secondary} onClick={onClose}>
          Cancel
        </button>
        <button type="button" disabled={busy} className={btn.danger} onClick={onDelete}>
          Delete
        </button>
      </div>
    </Dialog>
  );
}
