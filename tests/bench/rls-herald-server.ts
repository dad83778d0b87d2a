/**
 * Child process for tests/bench/rls.ts: Herald's embedded presence server with its resource list
 * server (the integration harness's startRlsServer: in-memory XCAP and state), in its own process so
 * the load generator does not share its event loop or heap (Kamailio runs in its own processes too).
 *   node --expose-gc --import tsx tests/bench/rls-herald-server.ts --users owner50,r0,r1,…
 * Prints one JSON line `{ "port": …, "pid": … }` when listening. IPC requests (process.send):
 *   { id, op: "put", docs: [[user, auid, content], …] }  XCAP PUTs (change events reach the RLS)
 *   { id, op: "memory" }   after a full GC: heapUsed + external of this process, back-end subscriptions
 *   { id, op: "drain" }    wait until queued NOTIFYs have left
 * Answers `{ id, result }` or `{ id, error }`. SIGTERM or the parent going away stops it.
 */
import { startRlsServer, RlsXcap } from "../integration/server/rls-harness";

const argv = process.argv.slice(2);
const i = argv.indexOf("--users");
const users = i >= 0 ? argv[i + 1]!.split(",") : [];

const xcap = new RlsXcap();
const s = await startRlsServer({ xcap, users, rls: {} });

async function handle(op: string, msg: Record<string, unknown>): Promise<unknown> {
  switch (op) {
    case "put":
      for (const [user, auid, content] of msg.docs as Array<[string, string, string]>) await xcap.put(user, auid, content);
      return null;
    case "drain":
      await s.server.notifier.drain();
      return null;
    case "memory": {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) for (let k = 0; k < 3; k++) gc();
      const m = process.memoryUsage();
      return { gc: typeof gc === "function", heapUsed: m.heapUsed, external: m.external, backEnds: s.rls.pool.size };
    }
    default:
      throw new Error(`unknown op ${op}`);
  }
}

process.on("message", (raw) => {
  const msg = raw as { id: number; op: string } & Record<string, unknown>;
  handle(msg.op, msg).then(
    (result) => process.send!({ id: msg.id, result }),
    (e: unknown) => process.send!({ id: msg.id, error: e instanceof Error ? e.message : String(e) }),
  );
});
const stop = () => {
  void s.stop().finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("disconnect", stop);
process.stdout.write(JSON.stringify({ port: s.port, pid: process.pid }) + "\n");
