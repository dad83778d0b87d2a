/** The operator CLI as operators run it: a child process, exit codes and one-line messages. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..", "..", "..");
const dir = mkdtempSync(path.join(tmpdir(), "herald-cli-"));
const env = { ...process.env, DATABASE_URL: `file:${path.join(dir, "h.db")}`, HERALD_DATA_DIR: dir };

function herald(args: string[], extraEnv: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "lib/cli/main.ts"), ...args], {
    cwd: ROOT,
    env: { ...env, ...extraEnv },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("herald CLI", () => {
  it("adds a domain and an account, lists them", () => {
    expect(herald(["domains", "add", "example.test"])).toMatchObject({ code: 0, out: "domain example.test added (realm example.test)\n" });
    expect(herald(["accounts", "add", "alice@example.test", "--password", "Wonder-land1", "--name", "Alice", "--admin"])).toMatchObject({
      code: 0,
      out: "account alice@example.test added (admin)\n",
    });
    const list = herald(["accounts", "list"]);
    expect(list.code).toBe(0);
    expect(list.out).toBe("alice@example.test\tadmin\tactive\tAlice\n");
  });

  it.each([
    [["accounts", "add", "alice@example.test", "--password", "Wonder-land1"], /already exists/],
    [["accounts", "add", "not-an-address", "--password", "Wonder-land1"], /malformed SIP address/],
    [["accounts", "add", "bob@unknown.test", "--password", "Wonder-land1"], /unknown domain unknown\.test/],
    [["accounts", "add", "bob@example.test", "--password", ""], /password is empty/],
    [["accounts", "add", "bob@example.test", "--password", "weak"], /too short/],
    [["accounts", "add", "bob@example.test"], /missing --password/],
    [["accounts", "frobnicate"], /unknown accounts command/],
  ])("refuses %j with exit 1 and a clear message, changing nothing", (args, message) => {
    const r = herald(args);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(herald(["accounts", "list"]).out).toBe("alice@example.test\tadmin\tactive\tAlice\n");
  });

  it("stops on a bad configuration value with exit 2 naming the variable", () => {
    const r = herald(["accounts", "list"], { PORT: "eighty" });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/PORT: must be a port number/);
  });

  it("disables and re-enables an account, changes its password", () => {
    expect(herald(["accounts", "disable", "alice@example.test"]).code).toBe(0);
    expect(herald(["accounts", "list"]).out).toContain("disabled");
    expect(herald(["accounts", "enable", "alice@example.test"]).code).toBe(0);
    expect(herald(["accounts", "passwd", "alice@example.test", "--password", "New-pass-2"]).code).toBe(0);
    expect(herald(["db", "check"])).toMatchObject({ code: 0 });
  });

  it("deletes an account; deleting it again is refused with exit 1", () => {
    expect(herald(["domains", "add", "del.test"]).code).toBe(0);
    expect(herald(["accounts", "add", "zoe@del.test", "--password", "Zoe-pass-1"]).code).toBe(0);
    expect(herald(["accounts", "delete", "zoe@del.test"])).toMatchObject({ code: 0, out: "account zoe@del.test deleted\n" });
    expect(herald(["accounts", "list"]).out).not.toContain("zoe@");
    const again = herald(["accounts", "delete", "zoe@del.test"]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/no account zoe@del.test/);
  }, 120_000);
});
