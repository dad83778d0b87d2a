/**
 * Bulk import of accounts from CSV (RFC 4180: comma-separated, `"` quoting with `""` escapes,
 * CRLF or LF line ends, a header row). Columns: `address` and `password` (required),
 * `displayName` (or `name`) and `role` (`user`|`admin`, default user), in any order; anything
 * else is refused. Every row is checked as `accounts add` would check it (address, domain known,
 * not an existing account, not twice in the file, password policy, display name) and reported;
 * valid rows are created, rows with a problem are skipped — a dry run reports exactly the same
 * without creating anything. Used by the console and `herald accounts import`.
 */
import type { Db } from "../db";
import { accountAddress } from "./address";
import { accountsChanged } from "./changes";
import { digestHa1, hashPassword, passwordProblem } from "./password";
import { actorOf, cleanDisplayName, AccountError, type Actor } from "./service";

/** Most data rows in one import. */
export const MAX_IMPORT_ROWS = 50_000;
/** Largest CSV text, bytes. */
export const MAX_IMPORT_BYTES = 8 * 1024 * 1024;

export interface ImportRowReport {
  /** 1-based line of the row in the file (the header is line 1). */
  line: number;
  address: string;
  /** `created` (imported), `valid` (dry run: would be created) or `error` (skipped). */
  outcome: "created" | "valid" | "error";
  message?: string;
}

export interface ImportReport {
  dryRun: boolean;
  rows: ImportRowReport[];
  created: number;
  valid: number;
  errors: number;
  ms: number;
}

/** Parse CSV into records with the line each starts on. Throws AccountError on unbalanced quotes. */
export function parseCsv(text: string): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a UTF-8 byte order mark (spreadsheets write one)
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === "")) records.push({ line: start, fields });
    fields = [];
    field = "";
  };
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
    } else if (c === '"' && field === "") quoted = true;
    else if (c === ",") {
      fields.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") continue;
    else if (c === "\n") {
      endRecord();
      line++;
      start = line;
    } else field += c;
  }
  if (quoted) throw new AccountError("invalid-value", `line ${start}: a quoted field is not closed`);
  endRecord();
  return records;
}

const COLUMNS: Record<string, "address" | "password" | "displayName" | "role"> = {
  address: "address",
  password: "password",
  displayname: "displayName",
  name: "displayName",
  role: "role",
};

interface Candidate {
  line: number;
  user: string;
  domainId: number;
  realm: string;
  address: string;
  password: string;
  displayName: string | null;
  role: "user" | "admin";
}

/** Run `fn` over `items` with at most `n` at a time (scrypt runs in libuv's pool of 4 threads). */
async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

export async function importAccounts(db: Db, csv: string, opts: { dryRun?: boolean; actor?: Actor; now?: () => number } = {}): Promise<ImportReport> {
  const now = opts.now ?? Date.now;
  const started = now();
  const dryRun = opts.dryRun ?? false;
  if (Buffer.byteLength(csv) > MAX_IMPORT_BYTES) throw new AccountError("invalid-value", `the file is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MiB`);
  const records = parseCsv(csv);
  if (records.length === 0) throw new AccountError("invalid-value", "the file is empty (expected a header row: address,password,displayName,role)");
  const header = records[0].fields.map((h) => h.trim().toLowerCase());
  const cols = header.map((h) => COLUMNS[h]);
  const unknown = header.filter((h, i) => !cols[i]);
  if (unknown.length) throw new AccountError("invalid-value", `unknown column ${JSON.stringify(unknown[0])} in the header (columns: address, password, displayName, role)`);
  for (const need of ["address", "password"] as const) {
    if (!cols.includes(need)) throw new AccountError("invalid-value", `the header has no ${need} column`);
  }
  if (new Set(cols).size !== cols.length) throw new AccountError("invalid-value", "a column appears twice in the header");
  const rows = records.slice(1);
  if (rows.length > MAX_IMPORT_ROWS) throw new AccountError("invalid-value", `more than ${MAX_IMPORT_ROWS} rows`);

  const domains = new Map((await db.domain.findMany()).map((d) => [d.name, d]));
  const report: ImportRowReport[] = [];
  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    const get = (c: string) => r.fields[cols.indexOf(c as never)]?.trim() ?? "";
    const raw = get("address");
    const fail = (message: string) => report.push({ line: r.line, address: raw, outcome: "error", message });
    if (r.fields.length !== cols.length) {
      fail(`${r.fields.length} fields, the header has ${cols.length}`);
      continue;
    }
    let parsed: ReturnType<typeof accountAddress>;
    try {
      parsed = accountAddress(raw);
    } catch (err) {
      fail((err as Error).message);
      continue;
    }
    const d = domains.get(parsed.domain);
    if (!d) {
      fail(`unknown domain ${parsed.domain}`);
      continue;
    }
    const key = parsed.address.toLowerCase();
    if (seen.has(key)) {
      fail(`${parsed.address} appears earlier in the file`);
      continue;
    }
    seen.add(key);
    const password = r.fields[cols.indexOf("password")] ?? "";
    const problem = passwordProblem(password);
    if (problem) {
      fail(problem);
      continue;
    }
    const roleText = get("role").toLowerCase() || "user";
    if (roleText !== "user" && roleText !== "admin") {
      fail(`role must be user or admin, not ${JSON.stringify(roleText)}`);
      continue;
    }
    let displayName: string | null;
    try {
      displayName = cleanDisplayName(get("displayName"));
    } catch (err) {
      fail((err as Error).message);
      continue;
    }
    candidates.push({ line: r.line, user: parsed.user, domainId: d.id, realm: d.realm, address: parsed.address, password, displayName, role: roleText });
    report.push({ line: r.line, address: parsed.address, outcome: "valid" });
  }
  // existing accounts, looked up in chunks (SQLite binds at most a few thousand parameters)
  const existing = new Set<string>();
  const virtual = new Set<string>();
  for (let i = 0; i < candidates.length; i += 500) {
    const chunk = candidates.slice(i, i + 500).map((c) => c.address);
    for (const a of await db.account.findMany({ where: { address: { in: chunk } }, select: { address: true } })) existing.add(a.address);
    for (const v of await db.virtualPresentity.findMany({ where: { address: { in: chunk.map((a) => a.toLowerCase()) } }, select: { address: true } })) virtual.add(v.address);
  }
  const byLine = new Map(report.map((r) => [r.line, r]));
  const toCreate = candidates.filter((c) => {
    const taken = existing.has(c.address) ? `account ${c.address} already exists` : virtual.has(c.address.toLowerCase()) ? `${c.address} is a virtual presentity` : undefined;
    if (!taken) return true;
    Object.assign(byLine.get(c.line)!, { outcome: "error", message: taken });
    return false;
  });

  let created = 0;
  if (!dryRun && toCreate.length > 0) {
    const { actor, ip } = actorOf(opts.actor);
    for (let i = 0; i < toCreate.length; i += 500) {
      const chunk = toCreate.slice(i, i + 500);
      const data = await pool(chunk, 4, async (c) => ({
        username: c.user,
        domainId: c.domainId,
        address: c.address,
        displayName: c.displayName,
        passwordHash: await hashPassword(c.password),
        ha1: digestHa1(c.user, c.realm, c.password, "md5"),
        ha1Sha256: digestHa1(c.user, c.realm, c.password, "sha256"),
        role: c.role,
      }));
      await db.$transaction([
        db.account.createMany({ data }),
        db.auditEvent.createMany({ data: chunk.map((c) => ({ actor, ip, action: "account.add", target: c.address, detail: `role=${c.role} import` })) }),
      ]);
      for (const c of chunk) byLine.get(c.line)!.outcome = "created";
      created += chunk.length;
    }
    accountsChanged();
  }
  const errors = report.filter((r) => r.outcome === "error").length;
  if (!dryRun) {
    const { actor, ip } = actorOf(opts.actor);
    await db.auditEvent.create({ data: { actor, ip, action: "accounts.import", target: null, detail: `rows=${rows.length} created=${created} errors=${errors}` } });
  }
  report.sort((a, b) => a.line - b.line);
  return { dryRun, rows: report, created, valid: dryRun ? toCreate.length : 0, errors, ms: now() - started };
}
