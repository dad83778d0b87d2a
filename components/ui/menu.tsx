"use client";
/**
 * A menu button (WAI-ARIA APG "menu button"): Enter, Space or ArrowDown opens the menu on its
 * first item, ArrowUp on its last; arrows, Home and End move between items; Escape closes it and
 * returns focus to the button; Tab or a click elsewhere closes it.
 */
import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { focusRing } from "./styles";

export interface MenuItem {
  /** Visible text. */
  label: ReactNode;
  /** Extra words for screen readers (e.g. the contact's name). */
  srLabel?: string;
  onSelect: () => void;
  disabled?: boolean;
  /** Shown as checked (menuitemradio / menuitemcheckbox). */
  checked?: boolean;
  role?: "menuitem" | "menuitemradio" | "menuitemcheckbox";
  testId?: string;
}

export function Menu({
  label,
  buttonContent,
  items,
  tabIndex,
  buttonClassName,
  align = "right",
  testId,
  buttonProps,
}: {
  /** The button's accessible name ("Actions for Dave"). */
  label: string;
  /** What the button shows (default ⋯). */
  buttonContent?: ReactNode;
  items: MenuItem[];
  tabIndex?: number;
  buttonClassName?: string;
  align?: "left" | "right";
  testId?: string;
  buttonProps?: Record<string, string | undefined>;
}) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  const focusOnOpen = useRef<"first" | "last">("first");
  const menuId = useId();

  const itemsOf = () => Array.from(menu.current?.querySelectorAll<HTMLButtonElement>("[data-menu-item]:not([disabled])") ?? []);

  useEffect(() => {
    if (!open) return;
    const list = itemsOf();
    (focusOnOpen.current === "last" ? list[list.length - 1] : list[0])?.focus();
    const away = (e: PointerEvent) => {
      const t = e.target as Node;
      if (!menu.current?.contains(t) && !button.current?.contains(t)) setOpen(false);
    };
    document.addEventListener("pointerdown", away);
    return () => document.removeEventListener("pointerdown", away);
  }, [open]);

  function close(refocus: boolean) {
    setOpen(false);
    if (refocus) button.current?.focus();
  }

  function onButtonKey(e: KeyboardEvent<HTMLButtonElement>) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      e.stopPropagation();
      focusOnOpen.current = e.key === "ArrowUp" ? "last" : "first";
      setOpen(true);
    }
  }

  function onMenuKey(e: KeyboardEvent<HTMLDivElement>) {
    const list = itemsOf();
    const i = list.indexOf(document.activeElement as HTMLButtonElement);
    const move = (to: number) => {
      e.preventDefault();
      list[(to + list.length) % list.length]?.focus();
    };
    e.stopPropagation();
    if (e.key === "ArrowDown") move(i + 1);
    else if (e.key === "ArrowUp") move(i - 1);
    else if (e.key === "Home") move(0);
    else if (e.key === "End") move(list.length - 1);
    else if (e.key === "Escape") {
      e.preventDefault();
      close(true);
    } else if (e.key === "Tab") setOpen(false);
  }

  return (
    <div className="relative shrink-0">
      <button
        ref={button}
        type="button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        aria-label={label}
        tabIndex={tabIndex}
        data-testid={testId}
        className={
          buttonClassName ??
          `inline-flex h-8 min-w-8 items-center justify-center rounded-md px-1.5 text-lg leading-none text-slate-700 hover:bg-slate-100 hover:text-slate-900 ${focusRing}`
        }
        onClick={() => {
          focusOnOpen.current = "first";
          setOpen((o) => !o);
        }}
        onKeyDown={onButtonKey}
        {...buttonProps}
      >
        {buttonContent ?? <span aria-hidden="true">⋯</span>}
      </button>
      {open ? (
        <div
          ref={menu}
          id={menuId}
          role="menu"
          aria-label={label}
          onKeyDown={onMenuKey}
          className={`absolute top-full z-20 mt-1 min-w-44 rounded-md border border-slate-200 bg-white py-1 text-sm shadow-lg ${align === "right" ? "right-0" : "left-0"}`}
        >
          {items.map((it, i) => (
            <button
              key={i}
              type="button"
              role={it.role ?? "menuitem"}
              aria-checked={it.role && it.role !== "menuitem" ? Boolean(it.checked) : undefined}
              tabIndex={-1}
              data-menu-item=""
              data-testid={it.testId}
              disabled={it.disabled}
              className="flex w-full items-center gap-2 px-3 py-2 text-left text-slate-800 hover:bg-slate-100 focus:bg-slate-100 focus:outline-none disabled:opacity-60"
              onClick={() => {
                close(true);
                it.onSelect();
              }}
            >
              {it.label}
              {it.srLabel ? <span className="sr-only"> {it.srLabel}</span> : null}
            </button>
          ))}
        </div>
      ) : null}
    </div>
  );
}
