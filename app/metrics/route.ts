import { config } from "@/lib/config";
import { authLimiterOptions, sharedAuthLimiter } from "@/lib/accounts/auth-limiter";
import { serveMetrics } from "@/lib/portal/metrics-endpoint";

export const dynamic = "force-dynamic";

export async function GET(req: Request) {
  const c = config();
  return serveMetrics(req, { token: c.METRICS_TOKEN, allow: c.METRICS_ALLOW, authLimiter: sharedAuthLimiter(authLimiterOptions(c)) });
}
