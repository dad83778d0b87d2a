/** Page guards for the portal (server components). */
import "server-only";
import { forbidden, redirect } from "next/navigation";
import { checkSession, type HeraldUser } from "./auth";

/**
 * The logged-in user, or a redirect to /login that comes back to `returnTo` (saying why when the
 * session was ended: account disabled, deleted, password changed).
 */
export async function requireUser(returnTo: string): Promise<HeraldUser> {
  const { user, ended } = await checkSession();
  if (!user) redirect(`/login?callbackUrl=${encodeURIComponent(returnTo)}${ended ? `&ended=${ended}` : ""}`);
  return user;
}

/** The logged-in admin; a non-admin gets the 403 page. */
export async function requireAdmin(returnTo: string): Promise<HeraldUser> {
  const user = await requireUser(returnTo);
  if (user.role !== "admin") forbidden();
  return user;
}
