import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { LoginForm } from "@/components/login-form";
import { currentUser } from "@/lib/portal/auth";
import { safeCallbackUrl } from "@/lib/portal/callback-url";
import { isSessionEndReason, sessionEndMessage } from "@/lib/accounts/session-end";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Sign in — Herald" };

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ callbackUrl?: string; ended?: string }> }) {
  const params = await searchParams;
  const callbackUrl = safeCallbackUrl(params.callbackUrl);
  if (await currentUser()) redirect(callbackUrl);
  // why the last session ended (disabled, password changed, deleted): fixed texts, never the parameter itself
  const ended = isSessionEndReason(params.ended) ? sessionEndMessage(params.ended) : null;
  return (
    <main className="mx-auto mt-24 max-w-sm rounded-lg border border-slate-200 bg-white p-8 shadow-sm">
      <h1 className="mb-1 text-2xl font-semibold">Sign in to Herald</h1>
      {ended ? (
        <p role="alert" data-testid="session-ended" className="mb-4 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-900">
          You were signed out: {ended}.
        </p>
      ) : null}
      <p className="mb-6 text-sm text-slate-600">Use your SIP address and password.</p>
      <LoginForm callbackUrl={callbackUrl} />
    </main>
  );
}
