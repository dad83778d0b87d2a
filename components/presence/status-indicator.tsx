/**
 * Availability shown by shape, colour and text together (never colour alone):
 * available ● filled circle · away ◔ clock · extended away ◐ half circle · busy ⊖ minus-circle ·
 * offline ○ hollow circle · unknown ◌ dashed circle.
 */
export type ShownAvailability = "available" | "away" | "extended-away" | "busy" | "offline" | "unknown";

export const AVAILABILITY_LABEL: Record<ShownAvailability, string> = {
  available: "Available",
  away: "Away",
  "extended-away": "Extended away",
  busy: "Busy",
  offline: "Offline",
  unknown: "Unknown",
};

/** Text colours with at least 4.5:1 contrast on white. */
export const AVAILABILITY_TEXT: Record<ShownAvailability, string> = {
  available: "text-green-800",
  away: "text-amber-800",
  "extended-away": "text-orange-800",
  busy: "text-red-800",
  offline: "text-slate-600",
  unknown: "text-slate-600",
};

export function isOnline(a: ShownAvailability): boolean {
  return a === "available" || a === "away" || a === "extended-away" || a === "busy";
}

/** The shape alone (decorative: pair it with a text label). */
export function StatusIcon({ availability, size = 14 }: { availability: ShownAvailability; size?: number }) {
  const common = { width: size, height: size, viewBox: "0 0 16 16", "aria-hidden": true as const, focusable: "false" as const, className: "shrink-0" };
  switch (availability) {
    case "available":
      return (
        <svg {...common}>
          <circle cx="8" cy="8" r="7" fill="#15803d" />
        </svg>
      );
    case "away":
      return (
        <svg {...common}>
          <circle cx="8" cy="8" r="6.5" fill="#fef3c7" stroke="#b45309" strokeWidth="1.5" />
          <path d="M8 4v4.5l3 1.8" fill="none" stroke="#b45309" strokeWidth="1.6" strokeLinecap="round" />
        </svg>
      );
    case "extended-away":
      return (
        <svg {...common}>
          <circle cx="8" cy="8" r="6.5" fill="#fff" stroke="#c2410c" strokeWidth="1.5" />
          <path d="M8 1.5a6.5 6.5 0 0 1 0 13z" fill="#c2410c" />
        </svg>
      );
    case "busy":
      return (
        <svg {...common}>
          <circle cx="8" cy="8" r="7" fill="#b91c1c" />
          <rect x="4" y="7" width="8" height="2" rx="0.5" fill="#fff" />
        </svg>
      );
    case "offline":
      return (
        <svg {...common}>
          <circle cx="8" cy="8" r="6" fill="none" stroke="#64748b" strokeWidth="2" />
        </svg>
      );
    default:
      return (
        <svg {...common}>
          <circle cx="8" cy="8" r="6" fill="none" stroke="#64748b" strokeWidth="1.5" strokeDasharray="2.5 2" />
        </svg>
      );
  }
}

/** Shape + visible text label. */
export function StatusBadge({ availability, className = "" }: { availability: ShownAvailability; className?: string }) {
  return (
    <span className={`inline-flex items-center gap-1.5 text-xs font-medium ${AVAILABILITY_TEXT[availability]} ${className}`} data-status={availability}>
      <StatusIcon availability={availability} size={12} />
      <span>{AVAILABILITY_LABEL[availability]}</span>
    </span>
  );
}
