/** The revocation watcher wired as `herald start` wires it (lib/cli/start.ts): the account's pages close, its SIP state goes. */
import type { Db } from "@/lib/db";
import type { HeraldConfig } from "@/lib/config";
import type { SipBridge } from "@/lib/bridge";
import type { RunningSipServer } from "@/lib/server/main";
import { RevocationWatcher } from "@/lib/accounts/revocation-watcher";

export async function startRevocationWatcher(db: Db, cfg: HeraldConfig, bridge: SipBridge, sip: RunningSipServer): Promise<RevocationWatcher> {
  const watcher = new RevocationWatcher({
    db,
    intervalMs: cfg.SESSION_REVOCATION_POLL_MS,
    onRevoked: (r) => {
      bridge.closeUser(r.address, r.reason);
      sip.server.dropAccount(`sip:${r.address}`, { deleted: r.reason === "deleted" });
    },
  });
  await watcher.start();
  return watcher;
}
