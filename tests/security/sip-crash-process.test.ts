/**
 * Issue 11 item 3 as the operator met it: one PUBLISH whose PIDF has a line break inside an end
 * tag made `herald sip` exit. The same PUBLISH against the real command: answered 400, and the
 * process is still there answering.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain } from "@/lib/accounts/service";
import { SipTestClient } from "../helpers/sip-client";
import { tempSqliteDb, type TempDb } from "../helpers/temp-db";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const PASSWORD = "Correct-Horse-9";
const ALICE = "sip:alice@example.test";

let tdb: TempDb;
let child: ChildProcess;
let port: number;
let output = "";

beforeAll(async () => {
  tdb = await tempSqliteDb();
  await addDomain(tdb.db, "example.test");
  await addAccount(tdb.db, { address: "alice@example.test", password: PASSWORD });
  child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "lib/cli/main.ts"), "sip"], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: tdb.url, HERALD_DATA_DIR: tdb.dir, SIP_HOST: "127.0.0.1", SIP_PORT: "0", LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`herald sip did not start within 60 s:\n${output}`)), 60_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /SIP server on tcp [^:\s]+:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`herald sip exited with ${code}:\n${output}`));
    });
  });
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill("SIGKILL");
  }
  await tdb?.close();
});

describe("herald sip", () => {
  it("answers a PUBLISH whose PIDF has a line break inside an end tag with 400 and keeps running", async () => {
    const alice = await SipTestClient.connect({ host: "127.0.0.1", port, user: "alice", domain: "example.test", password: PASSWORD });
    try {
      const broken = `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${ALICE}"><tuple id="t1"><status><basic>open</basic></status></\ntuple></presence>`;
      const r = await alice.publish(broken);
      expect(r.status).toBe(400);
      expect(r.reason).not.toMatch(/[\r\n]/);
      const options = await alice.sendRequest(alice.build("OPTIONS", ALICE));
      expect(options.status).toBe(200);
      expect(child.exitCode).toBe(null);
    } finally {
      await alice.close();
    }
    expect(output).not.toMatch(/Unhandled|TypeError/);
  });
});
