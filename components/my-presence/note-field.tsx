"use client";
/** The note input with a visible counter: a longer note is refused with a message, never cut silently. */
import { graphemes } from "../presence/initials";
import { useId, type InputHTMLAttributes } from "react";
import { field } from "../ui/styles";

/** Longest note by default (NOTE_MAX_CHARS; characters as the user sees them). */
export const MAX_NOTE_LENGTH = 200;

export function noteLength(note: string): number {
  return graphemes(note).length;
}

export function noteError(note: string, max = MAX_NOTE_LENGTH): string | null {
  const n = noteLength(note.trim());
  return n > max ? `The note is ${n} characters long; at most ${max} are published. Shorten it.` : null;
}

export function NoteField({
  value,
  onChange,
  label,
  labelClassName,
  className = field,
  max = MAX_NOTE_LENGTH,
  ...rest
}: {
  /** Longest note (NOTE_MAX_CHARS). */
  max?: number;
  value: string;
  onChange: (v: string) => void;
  label: string;
  labelClassName: string;
  className?: string;
} & Omit<InputHTMLAttributes<HTMLInputElement>, "value" | "onChange" | "maxLength">) {
  const id = useId();
  const counterId = useId();
  const error = noteError(value, max);
  const n = noteLength(value.trim());
  return (
    <div className="min-w-0">
      <label htmlFor={id} className={labelClassName}>
        {label}
      </label>
      <input
        id={id}
        type="text"
        autoComplete="off"
        className={className}
        value={value}
        aria-invalid={error ? true : undefined}
        aria-describedby={counterId}
        onChange={(e) => onChange(e.target.value)}
        {...rest}
      />
      <p id={counterId} data-testid="note-counter" className={`mt-0.5 text-xs ${error ? "text-red-800" : "text-slate-600"}`}>
        {error ?? `${n}/${max}`}
      </p>
    </div>
  );
}
