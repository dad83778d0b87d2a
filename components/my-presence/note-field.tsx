"use client";
/** The note input with a visible counter: a longer note is refused with a message, never cut silently. */
import { useId, type InputHTMLAttributes } from "react";
import { field } from "../ui/styles";

/** Longest note Herald publishes (characters as the user sees them). */
export const MAX_NOTE_LENGTH = 200;

export function noteLength(note: string): number {
  return Array.from(new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(note)).length;
}

export function noteError(note: string): string | null {
  const n = noteLength(note.trim());
  return n > MAX_NOTE_LENGTH ? `The note is ${n} characters long; at most ${MAX_NOTE_LENGTH} are published. Shorten it.` : null;
}

export function NoteField({
  value,
  onChange,
  label,
  labelClassName,
  className = field,
  ...rest
}: {
  value: string;
  onChange: (v: string) => void;
  label: string;
  labelClassName: string;
  className?: string;
} & Omit<InputHTMLAttributes<HTMLInputElement>, "value" | "onChange" | "maxLength">) {
  const id = useId();
  const counterId = useId();
  const error = noteError(value);
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
        {error ?? `${n}/${MAX_NOTE_LENGTH}`}
      </p>
    </div>
  );
}
