"use client";
/**
 * Re-renders the page's server components when the user's XCAP documents of these application
 * usages changed elsewhere (xcap-diff): another tab, Blink or another XCAP client, the operator.
 * Forms that keep their own state follow the new data (`useFollowedState`): only data that
 * really changed replaces what they show.
 */
import { useRouter } from "next/navigation";
import { useDocumentsChanged } from "./presence-client-context";

export function RefreshOnDocumentChange({ auids }: { auids: readonly string[] }) {
  const router = useRouter();
  useDocumentsChanged(auids, () => router.refresh());
  return null;
}
