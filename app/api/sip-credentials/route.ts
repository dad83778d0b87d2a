import { currentUser } from "@/lib/portal/auth";
import { issuePageSipCredentials } from "@/lib/portal/sip-credentials";

export const dynamic = "force-dynamic";

/** Short-lived SIP credentials for the logged-in user's browser client. */
export async function GET() {
  const user = await currentUser();
  if (!user) return Response.json({ error: "not signed in" }, { status: 401 });
  const r = await issuePageSipCredentials(user);
  if (!r.ok) return Response.json({ error: r.error }, { status: r.status });
  return Response.json(r.credentials, { headers: { "cache-control": "no-store" } });
}
