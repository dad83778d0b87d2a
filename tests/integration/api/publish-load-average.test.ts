/**
 * The sample publisher (docs/examples/publish-load-average.ts) against the provisioning API: one round
 * creates the virtual presentity with this machine's load average as its note; without a token it
 * says how to make one and publishes nothing.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDomain } from "@/lib/accounts/service";
import { createApiToken } from "@/lib/accounts/api-tokens";
import { createVirtualPresentities } from "@/lib/accounts/virtual-presentities";
import { presentityRoutes } from "@/lib/portal/api/presentity-routes";
import { xcapPresentityDocuments } from "@/lib/portal/virtual-presentities";
import { serveTestApi, type TestApi } from "../../helpers/api-client";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";
import { testXcapHttp } from "../../helpers/test-xcap-http";

const ROOT = path.resolve(import.meta.dirname, "..", "..", "..");
let t: TempDb;
let api: TestApi;
let token: string;

beforeAll(async () => {
  t = await tempSqliteDb();
  await addDomain(t.db, "example.test");
  const xcap = testXcapHttp(t.db);
  const presentities = createVirtualPresentities({ db: t.db, documents: xcapPresentityDocuments({ root: "http://localhost/xcap-root", handleAs: (req, a) => xcap.handleAs(req, a) }) });
  token = (await createApiToken(t.db, "load")).token;
  api = await serveTestApi(t.db, { token, routes: presentityRoutes(presentities) });
});

afterAll(async () => {
  await api?.close();
  await t?.close();
});

/** Run the script to its end (bounded), with `env` added. */
function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "docs/examples/publish-load-average.ts"), ...args], { cwd: ROOT, env: { ...process.env, HERALD_TOKEN: "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("docs/examples/publish-load-average.ts", { timeout: 60_000 }, () => {
  it("publishes the load average as the presentity's note", async () => {
    const r = await run(["--once", "--url", api.url, "--address", "load@example.test"], { HERALD_TOKEN: token });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const got = await api.call("GET", "/presentities/load@example.test");
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ availability: expect.stringMatching(/^(available|busy)$/), note: expect.stringMatching(/^Load \d+\.\d\d \d+\.\d\d \d+\.\d\d \(\d+ CPUs, /) });
  });

  it("without a token: exit 2 with what to do, nothing published", async () => {
    const before = await t.db.auditEvent.count();
    const r = await run(["--once", "--url", api.url, "--address", "other@example.test"], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/HERALD_TOKEN is not set \(make one: npm run herald -- tokens create/);
    expect(await t.db.auditEvent.count()).toBe(before);
  });
});
