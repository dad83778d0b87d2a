/** The portal's XCAP pieces: the embedded store, the HTTP root and the client the server actions use. */
import { config } from "../config";
import { db } from "../db";
import { currentUser } from "./auth";
import { createXcapHttp, portalXcapStore, type XcapHttp } from "./xcap-http";
import { xcapEvents } from "./xcap-events";
import { authLimiterOptions, sharedAuthLimiter } from "../accounts/auth-limiter";
import { ephemeralRevocationCheck } from "../accounts/revocations";
import { processWide } from "../process-wide";
import { countXcapRequest } from "../metrics";

export function xcapHttp(): XcapHttp {
  return processWide("__heraldXcapHttp", () => {
    const c = config();
    return createXcapHttp({
      db: db(),
      store: portalXcapStore(db()),
      rootPath: c.XCAP_ROOT_PATH,
      maxBodyBytes: c.XCAP_MAX_BODY,
      limits: { maxDocumentsPerUser: c.XCAP_MAX_DOCUMENTS_PER_USER, maxBytesPerUser: c.XCAP_MAX_BYTES_PER_USER, maxDepth: c.XCAP_MAX_DEPTH },
      secret: c.authSecret,
      ephemeralSecret: c.ephemeralSecret,
      ephemeralRevoked: ephemeralRevocationCheck(c.SIP_EPHEMERAL_TTL),
      // the same check as every portal page: account id, disabled, session epoch
      sessionAor: async () => (await currentUser())?.address ?? null,
      onChange: (e) => xcapEvents().emit(e),
      authLimiter: sharedAuthLimiter(authLimiterOptions(c)),
      onServed: countXcapRequest, // XCAP requests by status (/metrics)
    });
  });
}
