/** The "Clear after" choices as <option>s (My Presence and the list's status bar). */
import { CLEAR_AFTER_CHOICES } from "./status-choices";

export function ClearAfterOptions() {
  return CLEAR_AFTER_CHOICES.map((c) => (
    <option key={c.value} value={c.value}>
      {c.label}
    </option>
  ));
}
