"use client";
/** Console: CSV bulk import — upload, optional dry run, and the per-row report. */
import { useId, useState, type FormEvent } from "react";
import type { ActionResult } from "@/lib/portal/wire-types";
import type { ImportReport } from "@/lib/accounts/csv-import";
import { attempt, Outcome, type Message } from "./outcome";
import { btn, card, field, label, muted, table, td } from "./styles";
import { TableHead } from "./table-head";

/** Server actions take at most 1 MB (Next.js's default body limit); bigger files go through the CLI. */
export const CONSOLE_IMPORT_MAX_BYTES = 1024 * 1024 - 16 * 1024;

export function ImportForm({ importCsv }: { importCsv: (form: FormData) => Promise<ActionResult<ImportReport>> }) {
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message>(null);
  const [report, setReport] = useState<ImportReport | null>(null);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const file = data.get("file");
    if (file instanceof File && file.size > CONSOLE_IMPORT_MAX_BYTES) {
      return setMessage({ kind: "error", text: "The file is larger than 1 MB: import it with npm run herald -- accounts import <file.csv>." });
    }
    const dry = data.get("dryRun") === "on";
    setBusy(true);
    setReport(null);
    setMessage({ kind: "ok", text: dry ? "Checking…" : "Importing…" });
    const r = await attempt(() => importCsv(data));
    setBusy(false);
    if (!r.ok) return setMessage({ kind: "error", text: r.error });
    setReport(r.data);
    const total = r.data.rows.length;
    setMessage({
      kind: r.data.errors ? "error" : "ok",
      text: r.data.dryRun
        ? `Dry run: ${r.data.valid} of ${total} rows would be created, ${r.data.errors} with errors. Nothing changed.`
        : `${r.data.created} of ${total} accounts created, ${r.data.errors} rows with errors skipped.`,
    });
  }

  return (
    <>
      <section className={`mt-4 ${card}`} aria-labelledby={`${id}-h`}>
        <h2 id={`${id}-h`} className="text-base font-semibold">Upload a CSV file</h2>
        <p className={`mt-1 text-sm ${muted}`}>
          A header row, then one account per row. Columns: <code>address</code>, <code>password</code> (required), <code>displayName</code>, <code>role</code> (user or admin). Rows
          with a problem are skipped and reported; the others are created.
        </p>
        <form onSubmit={submit} aria-label="Import accounts" className="mt-3 flex flex-wrap items-end gap-4">
          <div>
            <label htmlFor={`${id}-file`} className={label}>CSV file</label>
            <input id={`${id}-file`} name="file" type="file" accept=".csv,text/csv" required className={field} />
          </div>
          <div className="flex items-center gap-2">
            <input id={`${id}-dry`} name="dryRun" type="checkbox" defaultChecked className="h-4 w-4" />
            <label htmlFor={`${id}-dry`} className={label}>Dry run (check only, change nothing)</label>
          </div>
          <button type="submit" disabled={busy} className={btn.primary}>Import</button>
        </form>
      </section>
      <Outcome testId="import-status" message={message} />
      {report ? (
        <div className={`mt-2 overflow-x-auto ${card}`} tabIndex={0} role="region" aria-label="Import report">
          <table className={table} data-testid="import-report">
            <caption className="sr-only">Import report, one line per row</caption>
            <TableHead columns={["Line", "Address", "Outcome"]} />
            <tbody>
              {report.rows.slice(0, 1000).map((r) => (
                <tr key={r.line}>
                  <td className={td}>{r.line}</td>
                  <td className={td}>{r.address}</td>
                  <td className={td}>
                    {r.outcome === "error" ? `✕ ${r.message}` : r.outcome === "created" ? "✓ created" : "✓ would be created"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {report.rows.length > 1000 ? <p className={`mt-2 text-sm ${muted}`}>First 1,000 of {report.rows.length} rows shown.</p> : null}
        </div>
      ) : null}
    </>
  );
}
