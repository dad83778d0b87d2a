/**
 * CSV bulk import (ISSUE-16 item 1): RFC 4180 parsing, a per-row report, a dry run that changes
 * nothing, valid rows created (their passwords work) and bad ones skipped, each creation audited;
 * and `herald accounts import <file> [--dry-run]` in its own process.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addAccount, addDomain, checkLogin } from "@/lib/accounts/service";
import { importAccounts, parseCsv } from "@/lib/accounts/csv-import";
import { tempSqliteDb, type TempDb } from "../../helpers/temp-db";

const ROOT = path.resolve(import.meta.dirname, "..", "..", "..");
const run = promisify(execFile);
let t: TempDb;

beforeAll(async () => {
  t = await tempSqliteDb();
  await addDomain(t.db, "example.test");
  await addAccount(t.db, { address: "alice@example.test", password: "Alice-pass1" });
});
afterAll(async () => t?.close());

const CSV = [
  "\ufeffaddress,password,displayName,role",
  'dave@example.test,Dave-pass1,"Dave, the ""Brave""",user',
  "erin@example.test,Erin-pass1,,admin",
  "alice@example.test,Alice-pass2,,", // exists
  "frank@nowhere.test,Frank-pass1,,", // unknown domain
  "not an address,Some-pass1,,",
  "grace@example.test,short,,",
  "heidi@example.test,Heidi-pass1,,root",
  "dave@example.test,Dave-pass2,,", // twice in the file
  "ivan@example.test,Ivan-pass1", // too few fields
  '"judy@example.test","Judy-pass1","Judy ""J"" Doe",user',
].join("\r\n");

const EXPECTED_ERRORS = [
  [4, /already exists/],
  [5, /unknown domain nowhere.test/],
  [6, /malformed SIP address/],
  [7, /too short/],
  [8, /role must be user or admin/],
  [9, /appears earlier/],
  [10, /2 fields, the header has 4/],
] as const;

describe("CSV import", { timeout: 120_000 }, () => {
  it("parses RFC 4180 quoting, CRLF and a byte order mark", () => {
    const r = parseCsv('a,b\r\n"x, y","say ""hi"""\n"multi\nline",z\n');
    expect(r).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["x, y", 'say "hi"'] },
      { line: 3, fields: ["multi\nline", "z"] },
    ]);
    expect(() => parseCsv('a\n"open')).toThrow(/not closed/);
  });

  it("refuses a file without the required columns or with unknown ones, changing nothing", async () => {
    await expect(importAccounts(t.db, "address,name\nx@example.test,X")).rejects.toThrow(/no password column/);
    await expect(importAccounts(t.db, "address,password,email\n")).rejects.toThrow(/unknown column "email"/);
    await expect(importAccounts(t.db, "")).rejects.toThrow(/empty/);
    expect(await t.db.account.count()).toBe(1);
  });

  it("dry run: the same per-row report, nothing created or audited", async () => {
    const audit = await t.db.auditEvent.count();
    const r = await importAccounts(t.db, CSV, { dryRun: true, actor: "admin:admin@example.test" });
    expect(r).toMatchObject({ dryRun: true, created: 0, valid: 3, errors: EXPECTED_ERRORS.length });
    expect(r.rows.filter((x) => x.outcome === "valid").map((x) => [x.line, x.address])).toEqual([
      [2, "dave@example.test"],
      [3, "erin@example.test"],
      [11, "judy@example.test"],
    ]);
    for (const [line, msg] of EXPECTED_ERRORS) expect(r.rows.find((x) => x.line === line)).toMatchObject({ outcome: "error", message: expect.stringMatching(msg) });
    expect(await t.db.account.count()).toBe(1);
    expect(await t.db.auditEvent.count()).toBe(audit);
  });

  it("import: valid rows created with working passwords and names, bad rows skipped, all audited", async () => {
    const r = await importAccounts(t.db, CSV, { actor: { actor: "admin:admin@example.test", ip: "192.0.2.1" } });
    expect(r).toMatchObject({ dryRun: false, created: 3, errors: EXPECTED_ERRORS.length });
    expect(r.rows.filter((x) => x.outcome === "created").map((x) => x.line)).toEqual([2, 3, 11]);
    const dave = await t.db.account.findUniqueOrThrow({ where: { address: "dave@example.test" } });
    expect(dave).toMatchObject({ displayName: 'Dave, the "Brave"', role: "user" });
    expect((await t.db.account.findUniqueOrThrow({ where: { address: "erin@example.test" } })).role).toBe("admin");
    expect((await t.db.account.findUniqueOrThrow({ where: { address: "judy@example.test" } })).displayName).toBe('Judy "J" Doe');
    expect((await checkLogin(t.db, "dave@example.test", "Dave-pass1")).ok).toBe(true);
    expect((await checkLogin(t.db, "alice@example.test", "Alice-pass1")).ok).toBe(true); // untouched
    const audit = await t.db.auditEvent.findMany({ where: { actor: "admin:admin@example.test" }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.action, a.target, a.ip])).toEqual([
      ["account.add", "dave@example.test", "192.0.2.1"],
      ["account.add", "erin@example.test", "192.0.2.1"],
      ["account.add", "judy@example.test", "192.0.2.1"],
      ["accounts.import", null, "192.0.2.1"],
    ]);
  });

  it("herald accounts import: errors per line, exit 1 when a row failed; --dry-run changes nothing", async () => {
    const file = path.join(t.dir, "people.csv");
    writeFileSync(file, "address,password\nkim@example.test,Kim-pass1\nlee@example.test,weak\n");
    const env = { ...process.env, DATABASE_URL: t.url, HERALD_DATA_DIR: t.dir };
    const cli = (...args: string[]) => run(process.execPath, ["--import", "tsx", path.join(ROOT, "lib/cli/main.ts"), "accounts", "import", ...args], { cwd: ROOT, env, timeout: 60_000 });
    const dry = await cli(file, "--dry-run").catch((e: { code: number; stdout: string }) => e);
    expect(dry).toMatchObject({ code: 1, stdout: expect.stringMatching(/line 3: lee@example.test: password is too short[\s\S]*dry run: 1 of 2 rows would be created, 1 with errors \(nothing changed\)/) });
    expect(await t.db.account.count({ where: { address: "kim@example.test" } })).toBe(0);
    const real = await cli(file).catch((e: { code: number; stdout: string }) => e);
    expect(real).toMatchObject({ code: 1, stdout: expect.stringMatching(/1 of 2 accounts created, 1 rows with errors skipped/) });
    expect((await checkLogin(t.db, "kim@example.test", "Kim-pass1")).ok).toBe(true);
  });
});
