"use client";
/**
 * State that starts from `source` and starts again from it whenever `source` changes (by value):
 * a form shows what the user types, and adopts a newer stored value when the document changed
 * elsewhere (xcap-diff) — without remounting, so its feedback line stays.
 */
import { useState, type Dispatch, type SetStateAction } from "react";

export function useSyncedState<T>(source: T): [T, Dispatch<SetStateAction<T>>] {
  const key = JSON.stringify(source);
  const [state, setState] = useState<T>(source);
  const [seen, setSeen] = useState(key);
  if (seen !== key) {
    // adjusting state while rendering (react.dev "You might not need an effect")
    setSeen(key);
    setState(source);
  }
  return [state, setState];
}
