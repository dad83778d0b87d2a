"use client";

import { useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { loginErrorMessage } from "@/lib/portal/login-errors";

async function fetchCsrfToken(): Promise<string> {
  const res = await fetch("/api/auth/csrf", { cache: "no-store", credentials: "same-origin" });
  if (!res.ok) throw new Error(`csrf ${res.status}`);
  return ((await res.json()) as { csrfToken: string }).csrfToken;
}

/**
 * next-auth's credentials sign-in over its HTTP API (what `signIn()` of next-auth/react does),
 * with the CSRF token fetched while the form is being filled in rather than after the click, and
 * without signIn()'s extra providers request: two round trips fewer between "Sign in" and the
 * buddy list. Resolves to the error code (`invalid`, `limited:<seconds>`, `disabled`) or null.
 */
async function credentialsSignIn(csrfToken: string, address: string, password: string, callbackUrl: string): Promise<string | null> {
  const res = await fetch("/api/auth/callback/credentials", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ address, password, csrfToken, callbackUrl, json: "true" }),
  });
  const data = (await res.json().catch(() => ({}))) as { url?: string };
  const error = data.url ? new URL(data.url, window.location.href).searchParams.get("error") : "invalid";
  if (error) return error;
  return res.ok ? null : "invalid";
}

export function LoginForm({ callbackUrl }: { callbackUrl: string }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [missing, setMissing] = useState<{ address?: boolean; password?: boolean }>({});
  const csrf = useRef<Promise<string> | null>(null);
  const addressRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const p = fetchCsrfToken();
    p.catch(() => {
      if (csrf.current === p) csrf.current = null; // fetched again on submit
    });
    csrf.current = p;
  }, []);

  // the list's JavaScript while the form is filled in; idle time only, never before the form works
  useEffect(() => {
    const preload = () => void import("./home-modules").catch(() => undefined); // fetched again after sign-in if this fails
    if (typeof window.requestIdleCallback !== "function") {
      const t = window.setTimeout(preload, 300);
      return () => window.clearTimeout(t);
    }
    const id = window.requestIdleCallback(preload, { timeout: 2000 });
    return () => window.cancelIdleCallback(id);
  }, []);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    // an empty field never goes to the server: say which one, and go there
    const empty = { address: !String(form.get("address") ?? "").trim(), password: !String(form.get("password") ?? "") };
    setMissing(empty);
    if (empty.address || empty.password) {
      setError(null);
      (empty.address ? addressRef : passwordRef).current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const token = await (csrf.current ?? (csrf.current = fetchCsrfToken()));
      const failure = await credentialsSignIn(token, String(form.get("address") ?? ""), String(form.get("password") ?? ""), callbackUrl);
      if (failure) {
        // next-auth answered with a new CSRF cookie only on success; a failed attempt keeps the token
        setError(loginErrorMessage(failure));
        return;
      }
      // the destination is rendered per request (its segments are dynamic), so replace() fetches it
      // with the new session; no refresh() needed
      router.replace(callbackUrl);
    } catch {
      csrf.current = null;
      setError("Could not reach Herald. Check your connection and try again.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={onSubmit} className="space-y-4" noValidate>
      <div>
        <label htmlFor="address" className="block text-sm font-medium text-slate-700">
          SIP address
        </label>
        <input
          id="address"
          name="address"
          type="text"
          autoComplete="username"
          placeholder="alice@example.test"
          required
          autoFocus
          ref={addressRef}
          aria-invalid={missing.address ? true : undefined}
          aria-describedby={missing.address ? "address-error" : undefined}
          onChange={() => missing.address && setMissing((m) => ({ ...m, address: false }))}
          className="mt-1 w-full rounded border border-slate-400 bg-white px-3 py-2 focus:border-blue-600 focus:outline-none focus:ring-2 focus:ring-blue-200"
        />
        {missing.address ? (
          <p id="address-error" data-testid="address-error" className="mt-1 text-sm text-red-800">
            Enter your SIP address, such as alice@example.com.
          </p>
        ) : null}
      </div>
      <div>
        <label htmlFor="password" className="block text-sm font-medium text-slate-700">
          Password
        </label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          ref={passwordRef}
          aria-invalid={missing.password ? true : undefined}
          aria-describedby={missing.password ? "password-error" : undefined}
          onChange={() => missing.password && setMissing((m) => ({ ...m, password: false }))}
          className="mt-1 w-full rounded border border-slate-400 bg-white px-3 py-2 focus:border-blue-600 focus:outline-none focus:ring-2 focus:ring-blue-200"
        />
        {missing.password ? (
          <p id="password-error" data-testid="password-error" className="mt-1 text-sm text-red-800">
            Enter your password.
          </p>
        ) : null}
      </div>
      {error ? (
        <p role="alert" data-testid="login-error" className="rounded border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
          {error}
        </p>
      ) : null}
      <button
        type="submit"
        disabled={busy}
        className="w-full rounded bg-blue-700 px-4 py-2 font-medium text-white hover:bg-blue-800 disabled:opacity-60"
      >
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
