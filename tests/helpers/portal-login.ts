/** A portal session cookie made by the real login path (next-auth authorize, then the jwt callback). */
import { encode } from "next-auth/jwt";
import { authOptions } from "@/lib/portal/auth";

export async function portalSessionCookie(address: string, password: string, secret: string): Promise<string> {
  const o = authOptions();
  const provider = o.providers[0] as unknown as { options: { authorize: (c: unknown, req: unknown) => Promise<unknown> } };
  const user = await provider.options.authorize({ address, password }, { headers: {} });
  const token = await o.callbacks!.jwt!({ token: {}, user, account: null, trigger: "signIn" } as never);
  return `next-auth.session-token=${await encode({ token, secret })}`;
}
