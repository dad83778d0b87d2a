"use client";
/** An action's feedback line that clears by itself after `ms` (a toast); errors are not shown with it. */
import { useCallback, useEffect, useRef, useState } from "react";

export const FEEDBACK_CLEAR_MS = 6000;

export function useTransientMessage(ms = FEEDBACK_CLEAR_MS): [string, (text: string, opts?: { sticky?: boolean }) => void] {
  const [text, setText] = useState("");
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const show = useCallback(
    (next: string, opts?: { sticky?: boolean }) => {
      clearTimeout(timer.current);
      setText(next);
      // a progress line ("Saving…") stays until its outcome replaces it
      if (next && !opts?.sticky) timer.current = setTimeout(() => setText(""), ms);
    },
    [ms],
  );
  return [text, show];
}
