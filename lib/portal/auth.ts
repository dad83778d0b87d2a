/** next-auth options: portal login with the SIP account's address and password. */
import type { NextAuthOptions, Session } from "next-auth";
import { getServerSession } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { signInEvents } from "./sign-in-events";
import { config } from "../config";
import { db } from "../db";
import { audit, checkLogin, type Role } from "../accounts/service";
import { authLimiterOptions, sharedAuthLimiter } from "../accounts/auth-limiter";
import { accountAddress } from "../accounts/address";
import { CLIENT_IP_HEADER } from "./client-address";
import { safeRedirect } from "./callback-url";
import { LIMITED_ERROR_PREFIX } from "./login-errors";
import { sessionEndReason, type SessionEndReason } from "../accounts/revocations";

export interface HeraldUser {
  id: string;
  address: string;
  role: Role;
  name: string | null;
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const v = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function authorizeLogin(
  credentials: { address?: string; password?: string } | undefined,
  clientIp: string,
): Promise<HeraldUser> {
  const address = (credentials?.address ?? "").trim();
  const password = credentials?.password ?? "";
  let key = address.toLowerCase();
  try {
    key = accountAddress(address).address;
  } catch {
    /* keep the raw key */
  }
  // the slot is taken before the password is checked, so concurrent guesses count at once
  const attempt = sharedAuthLimiter(authLimiterOptions(config())).attempt({ account: key, address: clientIp });
  if (!attempt.allowed) {
    await audit(db(), { actor: key || null, action: "login.limited", target: key || null, detail: attempt.scope, ip: clientIp });
    throw new Error(`${LIMITED_ERROR_PREFIX}${attempt.retryAfterSeconds}`);
  }
  let result: Awaited<ReturnType<typeof checkLogin>>;
  try {
    result = await checkLogin(db(), address, password);
  } catch (err) {
    attempt.released();
    throw err;
  }
  if (!result.ok) {
    // a disabled account's right password is no guess; anything else is
    if (result.reason === "disabled") attempt.released();
    else attempt.failed();
    await audit(db(), { actor: key || null, action: "login.failed", target: key || null, detail: result.reason, ip: clientIp });
    throw new Error(result.reason === "disabled" ? "disabled" : "invalid");
  }
  attempt.succeeded();
  await audit(db(), { actor: result.account.address, action: "login", target: result.account.address, ip: clientIp });
  try {
    signInEvents().emit(result.account.address); // the embedded server warms the buddy list meanwhile
  } catch {
    // warming is an optimisation: a listener's failure never fails a sign-in
  }
  return {
    id: String(result.account.id),
    address: result.account.address,
    role: result.account.role,
    name: result.account.displayName,
  };
}

export function authOptions(): NextAuthOptions {
  return {
    secret: config().authSecret,
    logger: {
      // without NEXTAUTH_URL next-auth uses the request's host, which is what Herald wants
      warn: (code) => {
        if (code !== "NEXTAUTH_URL") process.emitWarning(`next-auth: ${code}`);
      },
      error: (code, metadata) => process.emitWarning(`next-auth: ${code} ${(metadata as Error)?.message ?? ""}`),
      debug: () => undefined,
    },
    session: { strategy: "jwt", maxAge: 12 * 60 * 60 },
    pages: { signIn: "/login" },
    providers: [
      CredentialsProvider({
        name: "SIP account",
        credentials: {
          address: { label: "SIP address", type: "text" },
          password: { label: "Password", type: "password" },
        },
        async authorize(credentials, req) {
          const ip = header(req?.headers, CLIENT_IP_HEADER) ?? "unknown";
          // the epoch is read before the password check: a change meanwhile leaves it stale (refused)
          const epoch = await sessionEpochOf(credentials?.address);
          return { ...(await authorizeLogin(credentials, ip)), epoch } as never;
        },
      }),
    ],
    callbacks: {
      // only same-origin paths after sign-in/out (next-auth's default lets `/\t/evil.example` through)
      redirect: ({ url, baseUrl }) => safeRedirect(url, baseUrl),
      async jwt({ token, user }) {
        if (user) {
          const u = user as unknown as HeraldUser;
          token.sub = u.id;
          token.address = u.address;
          token.role = u.role;
          token.name = u.name;
          token.epoch = (user as { epoch?: number }).epoch;
        }
        return token;
      },
      async session({ session, token }) {
        (session as HeraldSession).user = {
          id: String(token.sub),
          address: String(token.address),
          role: token.role === "admin" ? "admin" : "user",
          name: (token.name as string | null) ?? null,
        };
        (session as HeraldSession).epoch = typeof token.epoch === "number" ? token.epoch : undefined;
        return session;
      },
    },
  };
}

export type HeraldSession = Session & { user: HeraldUser; epoch?: number };

/** The account's session epoch now (-1 when there is no such account), for a new session. */
async function sessionEpochOf(address: string | undefined): Promise<number> {
  try {
    const acc = await db().account.findUnique({ where: { address: accountAddress(address ?? "").address }, select: { sessionEpoch: true } });
    return acc?.sessionEpoch ?? -1;
  } catch {
    return -1;
  }
}

export type SessionCheck = { user: HeraldUser; ended?: undefined } | { user: null; ended?: SessionEndReason };

/**
 * The session of the current request, re-checked against the database: refused when the account
 * is gone (or is another account of the same address), disabled, or its session epoch moved since
 * the login (password changed, disabled), with the reason in `ended`. No session: both empty.
 */
export async function checkSession(): Promise<SessionCheck> {
  const session = (await getServerSession(authOptions())) as HeraldSession | null;
  if (!session?.user?.address) return { user: null };
  const acc = await db().account.findUnique({ where: { address: session.user.address } });
  const ended = sessionEndReason({ sub: session.user.id, epoch: session.epoch }, acc);
  if (ended || !acc) return { user: null, ended: ended ?? "deleted" };
  return { user: { id: String(acc.id), address: acc.address, role: acc.role === "admin" ? "admin" : "user", name: acc.displayName } };
}

/** The signed-in user of the current request (see checkSession), or null. */
export async function currentUser(): Promise<HeraldUser | null> {
  return (await checkSession()).user;
}
