/**
 * Child process for tests/bench/xcap.ts: Herald's XCAP core (MemoryXcapStore) over node:http with
 * digest, in its own process so the load generator does not share its event loop (Kamailio runs in
 * its own processes too). Prints one JSON line `{ "xcapRoot": … }` when listening; SIGTERM stops it.
 *   npx tsx tests/bench/xcap-herald-server.ts --domain example.test --user alice:secret [--user …]
 */
import { startHeraldXcapHttp } from "../interop/herald-xcap-server";

const users: Record<string, string> = {};
let domain = "example.test";
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--domain") domain = process.argv[++i]!;
  else if (a === "--user") {
    const [u, ...p] = process.argv[++i]!.split(":");
    users[u!] = p.join(":");
  }
}

const server = await startHeraldXcapHttp({ domain, users, server: { maxBodyBytes: 4 * 1024 * 1024 } });
process.stdout.write(JSON.stringify({ xcapRoot: server.xcapRoot, pid: process.pid }) + "\n");
const stop = () => void server.stop().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.on("disconnect", stop);
