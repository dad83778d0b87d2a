/** The portal's XCAP pieces: the embedded store, the HTTP root and the client the server actions use. */
import { config } from "../config";
import { db } from "../db";
import { currentUser } from "../auth";
import { createXcapHttp, portalXcapStore, type XcapHttp } from "./xcap-http";
import { xcapEvents } from "./xcap-events";

const g = globalThis as { __heraldXcapHttp?: XcapHttp };

export function xcapHttp(): XcapHttp {
  if (!g.__heraldXcapHttp) {
    const c = config();
    g.__heraldXcapHttp = createXcapHttp({
      db: db(),
      store: portalXcapStore(db()),
      rootPath: c.XCAP_ROOT_PATH,
      maxBodyBytes: c.XCAP_MAX_BODY,
      secret: c.authSecret,
      ephemeralSecret: c.ephemeralSecret,
      // the same check as every portal page: account id, disabled, session epoch
      sessionAor: async () => (await currentUser())?.address ?? null,
      onChange: (e) => xcapEvents().emit(e),
    });
  }
  return g.__heraldXcapHttp;
}
