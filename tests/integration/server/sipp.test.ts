/**
 * Interop with a client not written here: SIPp (Debian package `sip-tester`) registers with
 * digest, publishes, and subscribes receiving NOTIFYs over TCP (`-t t1`) against the server.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { pidf, type SipTestClient } from "../../helpers/sip-client";
import { freePort } from "../../helpers/ports";
import { waitFor } from "../../helpers/wait";
import { TOOLS, requireTool } from "../../helpers/tools";
import { DOMAIN, PASSWORD, XcapFixture, allowRules, client, startServer } from "./harness";

const SCENARIOS = path.resolve(__dirname, "../../fixtures/sipp");

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function runSipp(scenario: string, port: number, user: string, keys: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const local = await freePort();
  const args = [
    `127.0.0.1:${port}`,
    "-sf", path.join(SCENARIOS, scenario),
    "-t", "t1",
    "-i", "127.0.0.1",
    "-p", String(local),
    "-m", "1",
    "-s", user,
    "-au", user,
    "-ap", PASSWORD,
    "-key", "domain", DOMAIN,
    ...Object.entries(keys).flatMap(([k, v]) => ["-key", k, v]),
    "-timeout", "20s",
    "-timeout_error",
    "-nostdin",
    "-trace_err",
    "-error_file", `/tmp/herald-sipp-${process.pid}-${local}.log`,
  ];
  return new Promise((resolve) => {
    const p = spawn(requireTool(TOOLS.sipp), args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    p.stdout.on("data", (d) => (output += d));
    p.stderr.on("data", (d) => (output += d));
    const t = setTimeout(() => p.kill("SIGKILL"), 30_000);
    p.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, output: output.slice(-4000) });
    });
  });
}

// a missing SIPp fails each test naming it and its package (requireTool), never a skip
describe("SIPp interop (Debian package sip-tester)", () => {
  beforeAll(() => {
    requireTool(TOOLS.sipp);
  });

  it("REGISTER with digest authentication", async () => {
    const s = await startServer();
    cleanup.push(() => s.server.stop());
    const r = await runSipp("register-auth.xml", s.port, "alice");
    expect(r.code, r.output).toBe(0);
    expect(s.server.registrar.bindingsOf(`sip:alice@${DOMAIN}`)).toHaveLength(1);
  });

  it("PUBLISH with digest, then a modify by SIP-If-Match", async () => {
    const s = await startServer();
    cleanup.push(() => s.server.stop());
    const r = await runSipp("publish.xml", s.port, "alice", { note: "from-sipp" });
    expect(r.code, r.output).toBe(0);
    const pubs = s.server.presence.publicationsOf(`sip:alice@${DOMAIN}`);
    expect(pubs).toHaveLength(1);
    expect(pubs[0].xml).toContain("from-sipp (modified)");
  });

  it("SUBSCRIBE receiving NOTIFYs over TCP, then unsubscribe", async () => {
    const xcap = new XcapFixture();
    await xcap.put(`sip:bob@${DOMAIN}`, "org.openmobilealliance.pres-rules", allowRules(`sip:bob@${DOMAIN}`, [`sip:alice@${DOMAIN}`]));
    const s = await startServer({}, xcap);
    cleanup.push(() => s.server.stop());
    const bob: SipTestClient = await client(s.port, "bob");
    cleanup.push(() => bob.close());
    const run = runSipp("subscribe-notify.xml", s.port, "alice", { target: "bob" });
    await waitFor(() => s.server.notifier.subscriptionsOf("presence", `sip:bob@${DOMAIN}`).length === 1 && s.server.notifier.stats.sent >= 1, { timeoutMs: 20_000, what: "SIPp subscribed" });
    expect((await bob.publish(pidf(`sip:bob@${DOMAIN}`, "open", "sipp-watch-marker"))).status).toBe(200);
    const r = await run;
    expect(r.code, r.output).toBe(0);
    expect(s.server.notifier.size).toBe(0);
  });
});
