/**
 * Sample publisher for a virtual presentity: every 10 s, this machine's load average through
 * Herald's provisioning API (`PUT /api/v1/presentities/{address}/presence`). Watchers who add the
 * address to their buddy list see "Available · Load 0.42 0.37 0.30 (2 CPUs)" — Busy when the
 * 1-minute load is above the number of CPUs.
 *
 *   HERALD_TOKEN=$(npm run -s herald -- tokens create --name load) \
 *     npx tsx docs/examples/publish-load-average.ts --url http://localhost:3000 --address load@example.test
 *
 * Options: --url (HERALD_URL, default http://localhost:3000), --address (HERALD_PRESENTITY,
 * default load@example.test), --interval seconds (default 10), --once (publish once and exit).
 * The token comes from HERALD_TOKEN only (an argument would show in `ps`). Standalone: Node's
 * fetch and os, nothing of Herald.
 */
import { cpus, hostname, loadavg } from "node:os";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.HERALD_URL ?? "http://localhost:3000" },
    address: { type: "string", default: process.env.HERALD_PRESENTITY ?? "load@example.test" },
    interval: { type: "string", default: "10" },
    once: { type: "boolean", default: false },
  },
});
const token = process.env.HERALD_TOKEN;
const interval = Number(values.interval);
if (!token) {
  process.stderr.write("HERALD_TOKEN is not set (make one: npm run herald -- tokens create --name load)\n");
  process.exit(2);
}
if (!Number.isFinite(interval) || interval < 1) {
  process.stderr.write(`--interval must be a number of seconds ≥ 1 (got ${values.interval})\n`);
  process.exit(2);
}
const endpoint = `${values.url.replace(/\/+$/, "")}/api/v1/presentities/${encodeURIComponent(values.address)}/presence`;

async function publishOnce(): Promise<boolean> {
  const [one, five, fifteen] = loadavg();
  const n = cpus().length;
  const body = {
    availability: one > n ? "busy" : "available",
    note: `Load ${one.toFixed(2)} ${five.toFixed(2)} ${fifteen.toFixed(2)} (${n} CPUs, ${hostname()})`,
  };
  try {
    const res = await fetch(endpoint, { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) {
      process.stderr.write(`${new Date().toISOString()} ${res.status} ${await res.text()}\n`);
      return false;
    }
    process.stdout.write(`${new Date().toISOString()} ${values.address}: ${body.availability}, ${body.note}\n`);
    return true;
  } catch (err) {
    process.stderr.write(`${new Date().toISOString()} ${endpoint}: ${(err as Error).message}\n`);
    return false;
  }
}

if (values.once) process.exit((await publishOnce()) ? 0 : 1);
for (;;) {
  await publishOnce(); // a failure is reported and the next round tries again
  await new Promise((r) => setTimeout(r, interval * 1000));
}
