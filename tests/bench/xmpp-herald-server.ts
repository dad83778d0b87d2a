/**
 * The XMPP benchmark's Herald in its own process: the embedded SIP server as `herald start` runs
 * it (startEmbeddedSipServer: SQLite accounts, presence state and XCAP documents) with the XMPP
 * gateway connected to the given Prosody component port. Prints `{ port }` when the gateway is
 * online; answers `stats` over IPC.
 *
 *   tsx tests/bench/xmpp-herald-server.ts <componentPort> <secret> <users> <peerDomain>
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { addAccount, addDomain } from "../../lib/accounts/service";
import { loadConfig } from "../../lib/config";
import { startEmbeddedSipServer } from "../../lib/server";
import { PrismaXcapStore } from "../../lib/storage/xcap-prisma-store";
import { computeEtag } from "../../lib/xcap/server";
import { tempSqliteDb } from "../helpers/temp-db";
import { waitFor } from "../helpers/wait";

const [componentPort, secret, usersArg, peerDomain] = process.argv.slice(2);
const USERS = Number(usersArg);
const DOMAIN = "example.test";

const tdb = await tempSqliteDb();
await addDomain(tdb.db, DOMAIN);
const store = new PrismaXcapStore(tdb.db);
for (let i = 0; i < USERS; i++) {
  const aor = `sip:alice${i}@${DOMAIN}`;
  await addAccount(tdb.db, { address: `alice${i}@${DOMAIN}`, password: "Bench-password-1" });
  // alice<i> allows her XMPP watcher bob<i>
  const rules = `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="a"><cr:conditions><cr:identity><cr:one id="${aor}"/><cr:one id="sip:bob${i}@${peerDomain}"/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
</cr:ruleset>`;
  await store.put({ auid: "org.openmobilealliance.pres-rules", scope: "users", xui: aor, docPath: "index" }, { content: rules, etag: await computeEtag(rules) }, null);
}
const dataDir = mkdtempSync(path.join(tmpdir(), "herald-bench-xmpp-"));
const cfg = loadConfig(
  {
    SIP_HOST: "127.0.0.1",
    SIP_PORT: "0",
    HERALD_DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    AUTH_FAILURES_PER_ADDRESS: "100000",
    XMPP_COMPONENT_URL: `tcp://127.0.0.1:${componentPort}`,
    XMPP_COMPONENT_SECRET: secret,
    XMPP_COMPONENT_DOMAIN: DOMAIN,
    XMPP_DOMAINS: peerDomain,
  },
  dataDir,
);
const sip = await startEmbeddedSipServer(cfg, tdb.db, { store }, { logger: () => {} });
await waitFor(() => sip.xmpp?.link.online, { timeoutMs: 15_000, what: "the gateway online" });
process.stdout.write(JSON.stringify({ port: sip.ports.tcp }) + "\n");
process.on("message", (m: { id: number; op: string }) => {
  if (m.op === "stats") {
    const cpu = process.cpuUsage();
    process.send!({ id: m.id, result: { toXmpp: sip.xmpp!.gateway.translatedToXmpp, toSip: sip.xmpp!.gateway.contacts.translated, cpuMs: (cpu.user + cpu.system) / 1000, watchers: sip.xmpp!.gateway.watcherCount } });
  } else if (m.op === "stop") {
    void sip.stop().then(() => tdb.close()).then(() => {
      process.send!({ id: m.id, result: true });
      process.exit(0);
    });
  }
});
