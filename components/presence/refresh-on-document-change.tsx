"use client";
/**
 * Re-renders the page's server components when the user's XCAP documents of these application
 * usages changed elsewhere (xcap-diff): another tab, Blink or another XCAP client, the operator.
 * Forms that keep their own state follow the new data (`useFollowedState`): only data that
 * really changed replaces what they show.
 */
import { useRouter } from "next/navigation";
import { whenNoActionPending } from "@/lib/client/pending-actions";
import { useDocumentsChanged } from "./presence-client-context";

export function RefreshOnDocumentChange({ auids }: { auids: readonly string[] }) {
  const router = useRouter();
  // not on the initial full state: a refresh right after loading would meet the first clicks
  useDocumentsChanged(
    auids,
    async () => {
      await whenNoActionPending(); // the page's own save first (see pending-actions.ts)
      router.refresh();
    },
    { skipInitial: true },
  );
  return null;
}
