/**
 * The server under test of tests/security/sip-fuzz.test.ts, in its own process (the fuzzer and the
 * server each get a CPU, and the server runs as `herald sip` does: a rejection nobody handles ends
 * it, which the test sees). The integration harness's PresenceServer on 127.0.0.1 with in-memory
 * accounts and XCAP. Prints `{ "port": … }` when listening; IPC `{ id, op: "errors" }` answers the
 * error lines logged so far (and how many), `{ id, op: "cpu" }` its CPU time.
 */
import { startServer } from "../integration/server/harness";

const errors: string[] = [];
let errorCount = 0;
process.on("unhandledRejection", (e) => {
  process.stderr.write(`sip-fuzz-server: unhandled rejection: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(70);
});
const { port } = await startServer({
  logger: (level, msg, meta) => {
    if (level !== "error") return;
    errorCount++;
    if (errors.length < 20) errors.push(`${msg} ${JSON.stringify(meta ?? {}).slice(0, 600)}`);
  },
  notifyIntervalMs: 1000,
  // fewer publications per presentity than the default 20: a composition of them for every fetch
  // SUBSCRIBE is the costliest thing the fuzzer makes the server do, and it is the same work each time
  publish: { maxPerPresentity: 4 },
});
process.on("message", (raw) => {
  const m = raw as { id: number; op: string };
  if (m.op === "errors") process.send!({ id: m.id, result: { count: errorCount, samples: errors } });
  else if (m.op === "cpu") process.send!({ id: m.id, result: process.cpuUsage() });
  else process.send!({ id: m.id, error: `unknown op ${m.op}` });
});
process.on("disconnect", () => process.exit(0));
process.stdout.write(JSON.stringify({ port }) + "\n");
