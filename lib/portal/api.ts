/** The portal's provisioning API instance (app/api/v1): one per process, on the process's database. */
import { config } from "../config";
import { db } from "../db";
import { logger } from "../log";
import { authLimiterOptions, sharedAuthLimiter } from "../accounts/auth-limiter";
import { processWide } from "../process-wide";
import { createProvisioningApi, type ProvisioningApi } from "./api/provisioning-api";
import { presentityRoutes } from "./api/presentity-routes";
import { virtualPresentities } from "./virtual-presentities";
import { listRoutes } from "./api/list-routes";

export function provisioningApi(): ProvisioningApi {
  return processWide("__heraldProvisioningApi", () => {
    const c = config();
    return createProvisioningApi({
      db: db(),
      authLimiter: sharedAuthLimiter(authLimiterOptions(c)),
      logger: logger(c.LOG_LEVEL),
      routes: [...presentityRoutes(virtualPresentities()), ...listRoutes(db(), { maxMembers: c.LIST_MAX_MEMBERS })],
    });
  });
}
