/** The statuses a user picks, their labels, and the "clear after" choices (shared by My Presence and the list). */
import type { MyStatus } from "@/lib/client";
import type { ShownAvailability } from "../presence/status-indicator";

export const MY_STATUS_LABEL: Record<MyStatus, string> = {
  available: "Available",
  away: "Away",
  "extended-away": "Extended away",
  busy: "Busy",
  invisible: "Invisible",
};

/** What watchers see for a chosen status (invisible looks offline). */
export function shownFor(status: MyStatus): ShownAvailability {
  return status === "invisible" ? "offline" : status;
}

export const CLEAR_AFTER_CHOICES = [
  { value: "", label: "Don't clear" },
  { value: "30m", label: "30 minutes" },
  { value: "1h", label: "1 hour" },
  { value: "4h", label: "4 hours" },
  { value: "today", label: "Today" },
] as const;

/** When a "clear after" choice ends, from `now` (ISO 8601), or undefined for "Don't clear". */
export function clearAfterUntil(choice: string, now = new Date()): string | undefined {
  const minutes = { "30m": 30, "1h": 60, "4h": 240 }[choice];
  if (minutes) return new Date(now.getTime() + minutes * 60_000).toISOString();
  if (choice === "today") {
    const end = new Date(now);
    end.setHours(23, 59, 59, 0);
    return end.toISOString();
  }
  return undefined;
}

/** "Clears at 14:30" (today) or "Clears Mon 09:00". */
export function untilText(until: string, now = new Date()): string {
  const t = new Date(until);
  if (Number.isNaN(t.getTime())) return "";
  const time = t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return t.toDateString() === now.toDateString() ? `Clears at ${time}` : `Clears ${t.toLocaleDateString([], { weekday: "short" })} ${time}`;
}
