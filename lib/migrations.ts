/**
 * Prisma migrations without the native schema engine.
 *
 * Prisma's CLI downloads a native `schema-engine` binary, which cannot be fetched on an offline
 * machine. `@prisma/schema-engine-wasm` is the same engine compiled to WebAssembly and driven
 * through a driver adapter; with it Herald applies Prisma's standard `prisma/migrations` folder
 * and keeps Prisma's own `_prisma_migrations` bookkeeping, so `prisma migrate deploy` (where the
 * native engine is available) sees exactly the same state.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { parseDatabaseUrl, type DatabaseTarget } from "./database-url";

const require = createRequire(import.meta.url);

export const PRISMA_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "prisma");

/** Where the schema and the migrations of a provider live. */
export function schemaLocation(provider: DatabaseTarget["provider"]) {
  const dir = provider === "sqlite" ? PRISMA_DIR : path.join(PRISMA_DIR, "postgresql");
  return { schemaPath: path.join(dir, "schema.prisma"), migrationsDir: path.join(dir, "migrations") };
}

// Minimal typings of the wasm engine (see @prisma/schema-engine-wasm's d.ts).
interface MigrationList {
  baseDir: string;
  lockfile: { path: string; content: string | null };
  shadowDbInitScript: string;
  migrationDirectories: {
    path: string;
    migrationFile: { path: string; content: { tag: "ok"; value: string } | { tag: "error"; value: string } };
  }[];
}
interface WasmSchemaEngine {
  applyMigrations(input: {
    migrationsList: MigrationList;
    filters: { externalTables: string[]; externalEnums: string[] };
  }): Promise<{ appliedMigrationNames: string[] }>;
  diff(params: Record<string, unknown>): Promise<{ exitCode: number; stdout?: string }>;
  free(): void;
}
interface WasmGlue {
  __wbg_set_wasm(exports: WebAssembly.Exports): void;
  SchemaEngine: {
    new: (
      options: { datamodels: [string, string][] | undefined },
      log: (msg: string) => void,
      adapter: unknown,
    ) => Promise<WasmSchemaEngine>;
  };
}

let gluePromise: Promise<WasmGlue> | undefined;

/** Node 20 cannot import a .wasm module: instantiate it by hand and hand the glue its exports. */
function loadGlue(): Promise<WasmGlue> {
  gluePromise ??= (async () => {
    const gluePath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const glue = (await import("@prisma/schema-engine-wasm/schema_engine_bg")) as unknown as WasmGlue;
    const module = new WebAssembly.Module(readFileSync(path.join(path.dirname(gluePath), "schema_engine_bg.wasm")));
    const instance = new WebAssembly.Instance(module, { "./schema_engine_bg.js": glue as never });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    const g = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown };
    g.PRISMA_WASM_PANIC_REGISTRY ??= { set_message: (m: string) => { throw new Error(`schema engine panic: ${m}`); } };
    return glue;
  })();
  return gluePromise;
}

type Query = { sql: string; args: unknown[] };
type Adapter = Record<string, unknown> & {
  executeRaw(q: Query): Promise<number>;
  queryRaw(q: Query): Promise<unknown>;
  executeScript(script: string): Promise<void>;
};
type AdapterFactory = { connect(): Promise<Adapter>; connectToShadowDb(): Promise<Adapter> } & Record<string, unknown>;

/**
 * Wrap a factory so that every adapter it opens is recorded (the engine's free() does not
 * dispose them, and SQLite's exclusive lock would stay held) and, for better-sqlite3, so that
 * argument-less multi-statement SQL runs as a script: better-sqlite3 prepares one statement at a
 * time, but the engine replays a whole migration.sql through executeRaw/queryRaw.
 */
function instrument(factory: AdapterFactory, opened: Adapter[], scriptFallback: boolean): AdapterFactory {
  const wrap = (adapter: Adapter): Adapter => {
    opened.push(adapter);
    if (!scriptFallback) return adapter;
    const run =
      <T>(orig: (q: Query) => Promise<T>, empty: T) =>
      async (q: Query): Promise<T> => {
        try {
          return await orig.call(adapter, q);
        } catch (err) {
          if (q.args.length > 0 || !/;\s*\S/.test(q.sql)) throw err;
          await adapter.executeScript(q.sql);
          return empty;
        }
      };
    const executeRaw = run(adapter.executeRaw, 0);
    const queryRaw = run(adapter.queryRaw, { columnNames: [], columnTypes: [], rows: [] } as unknown);
    return new Proxy(adapter, {
      get(t, prop, recv) {
        if (prop === "executeRaw") return executeRaw;
        if (prop === "queryRaw") return queryRaw;
        const v = Reflect.get(t, prop, recv);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
  };
  return new Proxy(factory, {
    get(t, prop, recv) {
      if (prop === "connect") return async () => wrap(await t.connect());
      if (prop === "connectToShadowDb") return async () => wrap(await t.connectToShadowDb());
      const v = Reflect.get(t, prop, recv);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}

/** A driver adapter factory for the migration engine (discrete PG parameters: see prisma-offline note). */
function migrationAdapterFactory(target: DatabaseTarget, opened: Adapter[]): AdapterFactory {
  if (target.provider === "sqlite") {
    const url = target.file === ":memory:" ? ":memory:" : `file:${target.file}`;
    const factory = new PrismaBetterSqlite3({ url }, { timestampFormat: "unixepoch-ms" });
    return instrument(factory as unknown as AdapterFactory, opened, true);
  }
  reportCharAsText();
  const u = new URL(target.url);
  const params = {
    host: u.hostname,
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.slice(1)),
  };
  const factory = new PrismaPg(params) as unknown as AdapterFactory;
  // The adapter's own shadow database is dropped while its pool is still connected: create it
  // here, and drop it only after the pool has ended.
  const shadowAware = new Proxy(factory, {
    get(t, prop, recv) {
      if (prop === "connectToShadowDb") {
        return async () => {
          const name = `herald_shadow_${randomBytes(6).toString("hex")}`;
          await adminQuery(params, `CREATE DATABASE "${name}"`);
          const adapter = await (new PrismaPg({ ...params, database: name }) as unknown as AdapterFactory).connect();
          const dispose = (adapter.dispose as () => Promise<void>).bind(adapter);
          return new Proxy(adapter, {
            get(a, p2, r2) {
              if (p2 === "dispose") {
                return async () => {
                  await dispose();
                  await adminQuery(params, `DROP DATABASE IF EXISTS "${name}"`);
                };
              }
              const v = Reflect.get(a, p2, r2);
              return typeof v === "function" ? v.bind(a) : v;
            },
          });
        };
      }
      const v = Reflect.get(t, prop, recv);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  return instrument(shadowAware, opened, false);
}

/**
 * The engine reads PostgreSQL catalogue columns of type "char" (OID 18), which the pg adapter
 * cannot map. Report them as text (OID 25): their text form is the same. Herald's own tables have
 * no "char" columns, so this changes nothing for application queries.
 */
let charPatched = false;
function reportCharAsText() {
  if (charPatched) return;
  charPatched = true;
  const proto = (pg as unknown as { Result: { prototype: { addFields(fields: { dataTypeID: number }[]): void } } }).Result.prototype;
  const addFields = proto.addFields;
  proto.addFields = function (fields) {
    for (const f of fields) if (f.dataTypeID === 18) f.dataTypeID = 25;
    return addFields.call(this, fields);
  };
}

async function adminQuery(params: { host: string; port: number; user: string; password: string; database: string }, sql: string) {
  const client = new pg.Client(params);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export function readMigrations(migrationsDir: string): MigrationList {
  const lockPath = path.join(migrationsDir, "migration_lock.toml");
  const dirs = existsSync(migrationsDir)
    ? readdirSync(migrationsDir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort()
    : [];
  return {
    baseDir: migrationsDir,
    lockfile: { path: "migration_lock.toml", content: existsSync(lockPath) ? readFileSync(lockPath, "utf8") : null },
    shadowDbInitScript: "",
    migrationDirectories: dirs.map((name) => ({
      path: name,
      migrationFile: {
        path: "migration.sql",
        content: { tag: "ok", value: readFileSync(path.join(migrationsDir, name, "migration.sql"), "utf8") },
      },
    })),
  };
}

async function withEngine<T>(target: DatabaseTarget, fn: (engine: WasmSchemaEngine, schema: string) => Promise<T>): Promise<T> {
  const glue = await loadGlue();
  const { schemaPath } = schemaLocation(target.provider);
  const schema = readFileSync(schemaPath, "utf8");
  if (target.provider === "sqlite") mkdirSync(path.dirname(target.file), { recursive: true });
  const opened: Adapter[] = [];
  const factory = bindMigrationAwareSqlAdapterFactory(migrationAdapterFactory(target, opened) as never);
  const logs: string[] = [];
  const engine = await glue.SchemaEngine.new({ datamodels: [[schemaPath, schema]] }, (m) => logs.push(m), factory);
  try {
    return await fn(engine, schema);
  } catch (err) {
    throw new Error(`migration engine: ${describeEngineError(err)}`);
  } finally {
    engine.free();
    for (const a of opened) await (a.dispose as () => Promise<void>)().catch(() => undefined);
  }
}

function describeEngineError(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === "object" && "message" in err) return String((err as { message: unknown }).message);
  return String(err);
}

/** Apply every pending migration (what `prisma migrate deploy` does). Returns the names applied. */
export async function deployMigrations(databaseUrl: string): Promise<string[]> {
  const target = parseDatabaseUrl(databaseUrl);
  const { migrationsDir } = schemaLocation(target.provider);
  return withEngine(target, async (engine) => {
    const out = await engine.applyMigrations({
      migrationsList: readMigrations(migrationsDir),
      filters: { externalTables: [], externalEnums: [] },
    });
    return out.appliedMigrationNames;
  });
}

/**
 * The SQL that would bring the migrations folder to the schema ("" when they agree), computed
 * with an empty in-memory SQLite shadow database — no server needed for the SQLite schema. For
 * PostgreSQL pass a database URL the engine may use to create a shadow database.
 */
export async function diffMigrationsToSchema(provider: DatabaseTarget["provider"], databaseUrl?: string): Promise<string> {
  const target: DatabaseTarget =
    provider === "sqlite" ? { provider: "sqlite", file: ":memory:" } : parseDatabaseUrl(requireUrl(databaseUrl));
  const { schemaPath, migrationsDir } = schemaLocation(provider);
  return withEngine(target, async (engine, schema) => {
    const list = readMigrations(migrationsDir);
    const captured: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    // the engine prints the script to stdout; capture it
    process.stdout.write = ((chunk: string | Uint8Array) => {
      captured.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      return true;
    }) as typeof process.stdout.write;
    try {
      const res = await engine.diff({
        from: list.migrationDirectories.length ? { tag: "migrations", ...list } : { tag: "empty" },
        to: { tag: "schemaDatamodel", files: [{ path: schemaPath, content: schema }] },
        script: true,
        exitCode: null,
        shadowDatabaseUrl: null,
        filters: { externalTables: [], externalEnums: [] },
      });
      if (res.stdout) captured.push(res.stdout);
    } finally {
      process.stdout.write = write;
    }
    const sql = captured.join("").trim();
    return sql.replace(/^-- This is an empty migration\.$/m, "").trim();
  });
}

function requireUrl(url: string | undefined): string {
  if (!url) throw new Error("a PostgreSQL database URL is needed to diff the PostgreSQL migrations");
  return url;
}

/** Write a new migration folder `<timestamp>_<name>` from the schema/migrations difference. */
export async function createMigration(provider: DatabaseTarget["provider"], name: string, databaseUrl?: string): Promise<string | null> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error("migration name must match [a-z0-9_]+");
  const sql = await diffMigrationsToSchema(provider, databaseUrl);
  if (!sql) return null;
  const { migrationsDir } = schemaLocation(provider);
  const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const dir = path.join(migrationsDir, `${stamp}_${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "migration.sql"), `${sql}\n`);
  const lock = path.join(migrationsDir, "migration_lock.toml");
  if (!existsSync(lock)) {
    writeFileSync(
      lock,
      `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${provider}"\n`,
    );
  }
  return dir;
}

/**
 * Names of migrations not yet applied, read from Prisma's own `_prisma_migrations` table with a
 * plain query (no engine: fast, and no exclusive lock on a database a running Herald is using).
 */
export async function pendingMigrations(databaseUrl: string): Promise<string[]> {
  const target = parseDatabaseUrl(databaseUrl);
  const { migrationsDir } = schemaLocation(target.provider);
  const all = readMigrations(migrationsDir).migrationDirectories.map((d) => d.path);
  let applied: string[] = [];
  try {
    if (target.provider === "sqlite") {
      if (target.file === ":memory:" || !existsSync(target.file)) return all;
      const { default: Database } = await import("better-sqlite3");
      const dbh = new Database(target.file, { readonly: true, fileMustExist: true });
      try {
        applied = (dbh.prepare("SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL").all() as {
          migration_name: string;
        }[]).map((r) => r.migration_name);
      } finally {
        dbh.close();
      }
    } else {
      const client = new pg.Client({ connectionString: target.url });
      await client.connect();
      try {
        const r = await client.query("SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL");
        applied = r.rows.map((row: { migration_name: string }) => row.migration_name);
      } finally {
        await client.end();
      }
    }
  } catch {
    return all; // no bookkeeping table yet: everything is pending
  }
  const done = new Set(applied);
  return all.filter((m) => !done.has(m));
}

/** Apply pending migrations only when there are some (what every start and CLI command does). */
export async function migrateIfNeeded(databaseUrl: string): Promise<string[]> {
  if ((await pendingMigrations(databaseUrl)).length === 0) return [];
  return deployMigrations(databaseUrl);
}
