import NextAuth from "next-auth";
import { authOptions } from "@/lib/portal/auth";
import { limitedAs429 } from "@/lib/portal/login-errors";

const handler = async (req: Request, ctx: { params: Promise<{ nextauth: string[] }> }) =>
  limitedAs429((await NextAuth(req as never, ctx as never, authOptions())) as Response);

export { handler as GET, handler as POST };
