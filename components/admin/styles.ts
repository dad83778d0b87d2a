/** The console's look: the shared buttons and fields with dark-scheme colours (prefers-color-scheme). */
import { btn as base, field as baseField, label as baseLabel } from "../ui/styles";

export const btn = {
  primary: `${base.primary} dark:bg-blue-600 dark:hover:bg-blue-500`,
  secondary: `${base.secondary} dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100 dark:hover:bg-slate-700`,
  danger: `${base.danger} dark:bg-red-700 dark:hover:bg-red-600`,
};
export const field = `${baseField} dark:border-slate-500 dark:bg-slate-900 dark:text-slate-100 dark:placeholder:text-slate-400`;
export const label = `${baseLabel} dark:text-slate-200`;
export const card = "rounded-lg border border-slate-200 bg-white p-5 dark:border-slate-700 dark:bg-slate-900";
export const muted = "text-slate-600 dark:text-slate-300";
export const table = "w-full border-collapse text-left text-sm";
export const th = "border-b border-slate-200 px-3 py-2 font-semibold dark:border-slate-700";
export const td = "border-b border-slate-100 px-3 py-2 align-top dark:border-slate-800";
export const link = "rounded text-blue-800 underline underline-offset-2 hover:text-blue-900 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600 dark:text-blue-300 dark:hover:text-blue-200";
