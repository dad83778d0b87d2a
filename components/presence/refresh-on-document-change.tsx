"use client";
/**
 * Re-renders the page's server components when the user's XCAP documents of these application
 * usages changed elsewhere (xcap-diff): another tab, Blink or another XCAP client, the operator.
 * Forms that keep their own state take a `key` from the data, so new data remounts them.
 */
import { useRouter } from "next/navigation";
import { useDocumentsChanged } from "./presence-client-context";

export function RefreshOnDocumentChange({ auids }: { auids: readonly string[] }) {
  const router = useRouter();
  useDocumentsChanged(auids, () => router.refresh(), { skipInitial: true });
  return null;
}
