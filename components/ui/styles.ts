/** Shared Tailwind class strings (one look for buttons and fields, visible focus everywhere). */
const focus = "focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600 focus-visible:ring-offset-1";

export const btn = {
  primary: `inline-flex items-center justify-center gap-1.5 rounded-md bg-blue-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-800 disabled:opacity-60 ${focus}`,
  secondary: `inline-flex items-center justify-center gap-1.5 rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-50 disabled:opacity-60 ${focus}`,
  danger: `inline-flex items-center justify-center gap-1.5 rounded-md bg-red-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-red-800 disabled:opacity-60 ${focus}`,
  ghost: `inline-flex items-center justify-center gap-1 rounded px-2 py-1 text-xs font-medium text-slate-700 hover:bg-slate-100 hover:text-slate-900 disabled:opacity-60 ${focus}`,
};

export const field = `mt-1 block w-full rounded-md border border-slate-400 bg-white px-3 py-1.5 text-sm text-slate-900 placeholder:text-slate-500 ${focus}`;
export const label = "block text-sm font-medium text-slate-800";
export const focusRing = focus;
