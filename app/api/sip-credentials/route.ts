import { currentUser } from "@/lib/auth";
import { db } from "@/lib/db";
import { sipCredentialsFor } from "@/lib/portal/sip-credentials";

export const dynamic = "force-dynamic";

/** Short-lived SIP credentials for the logged-in user's browser client. */
export async function GET() {
  const user = await currentUser();
  if (!user) return Response.json({ error: "not signed in" }, { status: 401 });
  const domain = await db().domain.findUnique({ where: { name: user.address.split("@")[1] } });
  if (!domain?.enabled) return Response.json({ error: "domain disabled" }, { status: 403 });
  return Response.json(sipCredentialsFor(user, domain.realm), { headers: { "cache-control": "no-store" } });
}
