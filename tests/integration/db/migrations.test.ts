/** The migrations folders agree with the schemas, and deploy is what Prisma's deploy would do. */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { deployMigrations, diffMigrationsToSchema, migrateIfNeeded, pendingMigrations, PRISMA_DIR, schemaLocation } from "@/lib/migrations";

function models(file: string) {
  const text = readFileSync(file, "utf8");
  return text.slice(text.indexOf("// @models-begin"), text.indexOf("// @models-end"));
}

describe("prisma schema and migrations", () => {
  it("SQLite migrations produce exactly schema.prisma", async () => {
    expect(await diffMigrationsToSchema("sqlite")).toBe("");
  });

  it("the PostgreSQL schema has the same models as the SQLite one", () => {
    expect(models(path.join(PRISMA_DIR, "postgresql", "schema.prisma"))).toBe(models(path.join(PRISMA_DIR, "schema.prisma")));
  });

  it("deploy applies every migration once, with Prisma's bookkeeping", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "herald-mig-")), "h.db");
    const dirs = readdirSync(schemaLocation("sqlite").migrationsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect(await deployMigrations(`file:${file}`)).toEqual(dirs);
    expect(await deployMigrations(`file:${file}`)).toEqual([]);
    const rows = new Database(file).prepare("select migration_name, checksum, finished_at from _prisma_migrations order by migration_name").all() as {
      migration_name: string;
      checksum: string;
      finished_at: unknown;
    }[];
    expect(rows.map((r) => r.migration_name)).toEqual(dirs);
    for (const r of rows) {
      const sql = readFileSync(path.join(schemaLocation("sqlite").migrationsDir, r.migration_name, "migration.sql"));
      expect(r.checksum).toBe(createHash("sha256").update(sql).digest("hex"));
      expect(r.finished_at).not.toBeNull();
    }
  });
});

describe("pending migrations without the engine", () => {
  it("reads Prisma's bookkeeping: everything pending on a new file, nothing after deploy", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "herald-pend-")), "h.db");
    const dirs = readdirSync(schemaLocation("sqlite").migrationsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect(await pendingMigrations(`file:${file}`)).toEqual(dirs);
    expect(await migrateIfNeeded(`file:${file}`)).toEqual(dirs);
    expect(await pendingMigrations(`file:${file}`)).toEqual([]);
    expect(await migrateIfNeeded(`file:${file}`)).toEqual([]);
  });
});

describe("PostgreSQL migrations", () => {
  it("apply to a fresh PostgreSQL database and produce exactly the PostgreSQL schema", async () => {
    const { startPostgres } = await import("../../helpers/postgres");
    const pg = await startPostgres();
    try {
      pg.createDatabase("herald_mig");
      const url = pg.url("herald_mig");
      const dirs = readdirSync(schemaLocation("postgresql").migrationsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
      expect(await deployMigrations(url)).toEqual(dirs);
      expect(await deployMigrations(url)).toEqual([]);
      expect(await diffMigrationsToSchema("postgresql", url)).toBe("");
    } finally {
      await pg.stop();
    }
  });
});
