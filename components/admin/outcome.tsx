"use client";
/** The result line of a console action: a live region, progress while busy, the outcome after. */
import type { ActionResult } from "@/lib/portal/wire-types";

export type Message = { kind: "ok" | "error"; text: string } | null;

export function Outcome({ testId, message }: { testId: string; message: Message }) {
  return (
    <p
      role={message?.kind === "error" ? "alert" : "status"}
      data-testid={testId}
      className={`mt-2 min-h-5 text-sm ${message?.kind === "error" ? "text-red-800 dark:text-red-300" : "text-slate-700 dark:text-slate-200"}`}
    >
      {message?.text ?? ""}
    </p>
  );
}

/** Call a server action; a network failure becomes a result too. */
export async function attempt<T>(call: () => Promise<ActionResult<T>>): Promise<ActionResult<T>> {
  try {
    return await call();
  } catch {
    return { ok: false, code: "network", error: "Herald could not be reached. Try again." };
  }
}
