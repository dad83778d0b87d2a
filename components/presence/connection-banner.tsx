"use client";
import { usePresence } from "./presence-client-context";

/**
 * The SIP connection as the page sees it. Always mounted (a live region must exist before its
 * text changes); visible while not live, screen-reader only once connected.
 */
export function ConnectionBanner() {
  const { connection, error } = usePresence();
  const text =
    connection === "online"
      ? "Connected: status is live."
      : connection === "reconnecting"
        ? "Reconnecting…"
        : connection === "offline" && error
          ? `Not connected: ${error}. Statuses shown are not live.`
          : "Connecting…";
  const visible = connection !== "online";
  const tone = connection === "offline" && error ? "border-red-200 bg-red-50 text-red-900" : "border-amber-200 bg-amber-50 text-amber-900";
  return (
    <div
      role="status"
      data-testid="connection-status"
      data-connection={connection}
      className={visible ? `mb-4 flex items-center gap-2 rounded-md border px-3 py-2 text-sm ${tone}` : "sr-only"}
    >
      {visible && !(connection === "offline" && error) ? (
        <span aria-hidden="true" className="inline-block h-3 w-3 animate-spin rounded-full border-2 border-current border-t-transparent motion-reduce:animate-none" />
      ) : null}
      <span>{text}</span>
    </div>
  );
}
