/**
 * `herald` — the operator CLI (npm run herald -- <command>). Non-interactive; exit code 0 on
 * success, 1 on a usage or data error with a one-line message, 2 on a configuration error.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, type HeraldConfig } from "../config";
import { openDb, prepareDb, setDb, type Db } from "../db";
import { deployMigrations, diffMigrationsToSchema, createMigration, migrateIfNeeded } from "../migrations";
import {
  AccountError,
  addAccount,
  addDomain,
  listAccounts,
  setDisabled,
  deleteAccount,
  setPassword,
  setRole,
  setDisplayName,
  updateDomain,
} from "../accounts/service";
import { createApiToken, listApiTokens, revokeApiToken } from "../accounts/api-tokens";
import { importAccounts } from "../accounts/csv-import";
import { readFileSync } from "node:fs";
import { seedDemo } from "./seed";
import { startHerald, startSipOnly } from "./start";

const USAGE = `Usage: npm run herald -- <command>

  start                                   run Herald (portal, XCAP, bridge, embedded SIP server)
  sip                                     run only the embedded SIP presence server
  demo                                    seed example.test with alice, bob, carol, admin and start
  migrate                                 apply pending database migrations
  domains add <domain> [--realm <realm>]  add a SIP domain
  domains list
  domains realm <domain> --realm <realm>  change the realm (only while the domain has no accounts)
  domains disable <domain> / domains enable <domain>
  accounts add <user@domain> --password <pw> [--name <display name>] [--admin]
  accounts list
  accounts passwd <user@domain> --password <pw>
  accounts disable <user@domain>
  accounts delete <user@domain>
  accounts enable <user@domain>
  accounts role <user@domain> --role user|admin
  tokens create --name <name>             make a provisioning API token (printed once)
  tokens list
  tokens revoke <name>
  db check                                exit 1 if prisma/schema.prisma and the migrations differ
  db create-migration <name> [--provider sqlite|postgresql]`;

class UsageError extends Error {}

function out(line: string) {
  process.stdout.write(line + "\n");
}

async function withDb<T>(cfg: HeraldConfig, fn: (db: Db) => Promise<T>): Promise<T> {
  await migrateIfNeeded(cfg.DATABASE_URL);
  const client = openDb(cfg.DATABASE_URL);
  await prepareDb(client, cfg.DATABASE_URL);
  setDb(client);
  try {
    return await fn(client);
  } finally {
    await client.$disconnect();
  }
}

function need(v: string | undefined, what: string): string {
  if (!v) throw new UsageError(`missing ${what}`);
  return v;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  if (!cmd || cmd === "help" || cmd === "--help") {
    out(USAGE);
    return cmd ? 0 : 1;
  }
  let cfg: HeraldConfig;
  try {
    cfg = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + "\n");
      return 2;
    }
    throw err;
  }
  try {
    switch (cmd) {
      case "start":
        await startHerald(cfg);
        return -1; // keep running
      case "sip":
        await startSipOnly(cfg);
        return -1;
      case "demo": {
        const seeded = await withDb(cfg, (db) => seedDemo(db));
        out("Demo accounts (domain example.test):");
        for (const s of seeded) out(`  ${s.address.padEnd(22)} password: ${s.password}${s.role === "admin" ? "  (admin)" : ""}`);
        await startHerald(cfg);
        return -1;
      }
      case "migrate": {
        const applied = await deployMigrations(cfg.DATABASE_URL);
        out(applied.length ? `applied: ${applied.join(", ")}` : "database is up to date");
        return 0;
      }
      case "domains": {
        const { values, positionals } = parseArgs({ args: rest, options: { realm: { type: "string" } }, allowPositionals: true });
        if (sub === "add") {
          const d = await withDb(cfg, (db) => addDomain(db, need(positionals[0], "domain"), { realm: values.realm }));
          out(`domain ${d.name} added (realm ${d.realm})`);
          return 0;
        }
        if (sub === "list") {
          const ds = await withDb(cfg, (db) => db.domain.findMany({ orderBy: { name: "asc" } }));
          for (const d of ds) out(`${d.name}\trealm=${d.realm}\t${d.enabled ? "enabled" : "disabled"}`);
          return 0;
        }
        if (sub === "realm") {
          const realm = need(values.realm, "--realm");
          const d = await withDb(cfg, (db) => updateDomain(db, need(positionals[0], "domain"), { realm }));
          out(`domain ${d.name} realm is now ${d.realm}`);
          return 0;
        }
        if (sub === "disable" || sub === "enable") {
          const d = await withDb(cfg, (db) => updateDomain(db, need(positionals[0], "domain"), { enabled: sub === "enable" }));
          out(`domain ${d.name} ${sub}d`);
          return 0;
        }
        throw new UsageError(`unknown domains command: ${sub ?? "(none)"}`);
      }
      case "accounts": {
        const { values, positionals } = parseArgs({
          args: rest,
          options: {
            password: { type: "string" },
            name: { type: "string" },
            admin: { type: "boolean", default: false },
            role: { type: "string" },
            "dry-run": { type: "boolean", default: false },
          },
          allowPositionals: true,
        });
        const address = positionals[0];
        if (sub === "import") {
          const file = need(positionals[0], "CSV file");
          let text: string;
          try {
            text = readFileSync(file, "utf8");
          } catch (err) {
            throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
          }
          const dryRun = values["dry-run"] ?? false;
          const r = await withDb(cfg, (db) => importAccounts(db, text, { dryRun }));
          for (const row of r.rows) if (row.outcome === "error") out(`line ${row.line}: ${row.address || "(no address)"}: ${row.message}`);
          out(
            dryRun
              ? `dry run: ${r.valid} of ${r.rows.length} rows would be created, ${r.errors} with errors (nothing changed) in ${r.ms} ms`
              : `${r.created} of ${r.rows.length} accounts created, ${r.errors} rows with errors skipped, in ${r.ms} ms`,
          );
          return r.errors > 0 ? 1 : 0;
        }
        switch (sub) {
          case "add": {
            if (values.password === undefined) throw new UsageError("missing --password");
            const a = await withDb(cfg, (db) =>
              addAccount(db, {
                address: need(address, "SIP address"),
                password: values.password ?? "",
                displayName: values.name,
                role: values.admin ? "admin" : "user",
              }),
            );
            out(`account ${a.address} added (${a.role})`);
            return 0;
          }
          case "list": {
            const list = await withDb(cfg, (db) => listAccounts(db));
            for (const a of list) out(`${a.address}\t${a.role}\t${a.disabled ? "disabled" : "active"}\t${a.displayName ?? ""}`);
            return 0;
          }
          case "passwd":
            if (values.password === undefined) throw new UsageError("missing --password");
            await withDb(cfg, (db) => setPassword(db, need(address, "SIP address"), values.password ?? ""));
            out(`password of ${address} changed`);
            return 0;
          case "disable":
          case "enable":
            await withDb(cfg, (db) => setDisabled(db, need(address, "SIP address"), sub === "disable"));
            out(`account ${address} ${sub}d`);
            return 0;
          case "delete":
            await withDb(cfg, (db) => deleteAccount(db, need(address, "SIP address")));
            out(`account ${address} deleted`);
            return 0;
          case "role": {
            if (values.role !== "user" && values.role !== "admin") throw new UsageError("--role must be user or admin");
            const role = values.role;
            await withDb(cfg, (db) => setRole(db, need(address, "SIP address"), role));
            out(`account ${address} is now ${role}`);
            return 0;
          }
          case "name": {
            if (values.name === undefined) throw new UsageError("missing --name");
            const name = values.name;
            await withDb(cfg, (db) => setDisplayName(db, need(address, "SIP address"), name));
            out(name.trim() ? `account ${address} is now named ${name.trim()}` : `account ${address} has no name now`);
            return 0;
          }
        }
        throw new UsageError(`unknown accounts command: ${sub ?? "(none)"}`);
      }
      case "tokens": {
        const { values, positionals } = parseArgs({ args: rest, options: { name: { type: "string" } }, allowPositionals: true });
        if (sub === "create") {
          const name = need(values.name, "--name");
          const { token } = await withDb(cfg, (db) => createApiToken(db, name));
          out(token);
          process.stderr.write(`herald: token ${name} created; it is shown only now — keep it (Authorization: Bearer <token>)\n`);
          return 0;
        }
        if (sub === "list") {
          const list = await withDb(cfg, (db) => listApiTokens(db));
          for (const t of list) {
            const state = t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : "active";
            out(`${t.name}\t${t.prefix}…\t${state}\tcreated ${t.createdAt.toISOString()}\tlast used ${t.lastUsedAt?.toISOString() ?? "never"}`);
          }
          return 0;
        }
        if (sub === "revoke") {
          const name = need(positionals[0], "token name");
          await withDb(cfg, (db) => revokeApiToken(db, name));
          out(`token ${name} revoked`);
          return 0;
        }
        throw new UsageError(`unknown tokens command: ${sub ?? "(none)"}`);
      }
      case "db": {
        const { values, positionals } = parseArgs({ args: rest, options: { provider: { type: "string", default: "sqlite" } }, allowPositionals: true });
        const provider = values.provider === "postgresql" ? "postgresql" : "sqlite";
        const pgUrl = provider === "postgresql" ? cfg.DATABASE_URL : undefined;
        if (sub === "check") {
          const sql = await diffMigrationsToSchema(provider, pgUrl);
          if (sql) {
            process.stderr.write(`schema.prisma and the ${provider} migrations differ:\n${sql}\n`);
            return 1;
          }
          out(`schema.prisma and the ${provider} migrations agree`);
          return 0;
        }
        if (sub === "create-migration") {
          const dir = await createMigration(provider, need(positionals[0], "migration name"), pgUrl);
          out(dir ? `created ${dir}` : "no changes");
          return 0;
        }
        throw new UsageError(`unknown db command: ${sub ?? "(none)"}`);
      }
      default:
        throw new UsageError(`unknown command: ${cmd}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`herald: ${err.message}\n\n${USAGE}\n`);
      return 1;
    }
    if (err instanceof AccountError) {
      process.stderr.write(`herald: ${err.message}\n`);
      return 1;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + "\n");
      return 2;
    }
    process.stderr.write(`herald: ${(err as Error)?.stack ?? err}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
