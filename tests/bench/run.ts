/**
 * `npm run bench -- <name…>`: run benchmark scripts (each prints JSON lines). Names: parser,
 * presence, xcap, xcap-put-path (the XCAP PUT path in one process, against --before=DIR), bridge, rls, page, deployed (`herald start` and Kamailio over real sockets), im (MESSAGE: Herald and
 * Kamailio with msilo), xmpp (the SIP–XMPP gateway through a real Prosody), admin,
 * population (10,000 accounts with address books, 20 % online through the bridge: memory, idle CPU, restart), or all. Figures, never assertions.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

const BENCHES: Record<string, { file: string; args?: string[] }> = {
  parser: { file: "sip-parser.ts" },
  presence: { file: "presence.ts" },
  xcap: { file: "xcap.ts" },
  "xcap-put-path": { file: "xcap-put-path.ts" },
  bridge: { file: "bridge.ts" },
  rls: { file: "rls.ts" },
  page: { file: "page.ts" },
  deployed: { file: "deployed.ts" },
  im: { file: "im.ts" },
  xmpp: { file: "xmpp.ts" },
  admin: { file: "admin.ts" },
  population: { file: "population.ts" },
};

const names = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const passthrough = process.argv.slice(2).filter((a) => a.startsWith("-"));
const selected = !names.length || names.includes("all") ? Object.keys(BENCHES) : names;
let failed = 0;
for (const name of selected) {
  const b = BENCHES[name];
  if (!b) {
    process.stderr.write(`unknown benchmark ${name}; choose from ${Object.keys(BENCHES).join(", ")}, all\n`);
    process.exit(1);
  }
  const file = path.join(import.meta.dirname, b.file);
  if (!existsSync(file)) {
    process.stderr.write(`benchmark ${name} is not available yet (${b.file})\n`);
    continue;
  }
  const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", file, ...(b.args ?? []), ...passthrough], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
