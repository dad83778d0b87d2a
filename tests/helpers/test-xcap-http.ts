/** The portal's XCAP root (createXcapHttp) as the integration tests set it up: test secrets, 64 KiB bodies. */
import type { Db } from "../../lib/db";
import { createXcapHttp } from "../../lib/portal/xcap-http";
import { PrismaXcapStore } from "../../lib/storage/xcap-prisma-store";

type XcapHttpOptions = Parameters<typeof createXcapHttp>[0];

export function testXcapHttp(db: Db, overrides: Partial<XcapHttpOptions> = {}) {
  return createXcapHttp({
    db,
    store: new PrismaXcapStore(db),
    rootPath: "/xcap-root",
    maxBodyBytes: 64 * 1024,
    secret: "nonce-secret-for-tests-0123456789",
    ephemeralSecret: "ephemeral-secret-for-tests",
    sessionAor: async () => null,
    onChange: () => undefined,
    ...overrides,
  });
}
