/**
 * Kamailio 5.6 as a reference server for interop tests and benchmarks: registrar, presence agent
 * (presence + presence_xml reading pres-rules from the xcap table), RLS (rls, db_mode 2) and
 * XCAP (xhttp + xcap_server), SIP over TCP only, on a private PostgreSQL cluster.
 *
 *   const k = await startKamailio({ users: [{ user: "alice", password: "secret" }] });
 *   const xcap = k.xcapClient("alice");          // XcapClient (digest via HA1, quoted "*")
 *   const book = k.addressBook("alice");         // Blink-style AddressBook on Kamailio's xcap_server
 *   // SIP: tcp to k.host:k.sipPort, domain k.domain; see kamailio-sip.ts for a raw client
 *   await k.stop();
 *
 * The configuration is tests/interop/kamailio/kamailio.cfg, rendered into a temp directory.
 * Facts behind it: ../../../shared/notes/kamailio-reference-server.md.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { digestHa1 } from "../../lib/accounts/password";
import { XcapClient, type XcapClientOptions } from "../../lib/xcap/client";
import { AddressBook, type AddressBookOptions } from "../../lib/xcap/addressbook";
import { presRulesXml } from "./kamailio-documents";
import { freePort } from "./ports";
import { startPostgres, type PgCluster } from "./postgres";
import { waitFor } from "./wait";

export const KAMAILIO_CFG_TEMPLATE = fileURLToPath(new URL("../interop/kamailio/kamailio.cfg", import.meta.url));
export const KAMAILIO_MODULE_DIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules";
export const KAMAILIO_SQL_DIR = "/usr/share/kamailio/postgres";
/** Kamailio's table definitions needed by this module set, in creation order. */
export const KAMAILIO_SQL_FILES = ["standard-create.sql", "auth_db-create.sql", "usrloc-create.sql", "presence-create.sql", "rls-create.sql"];

/** Modules the configuration needs and the Debian package that ships each. */
const REQUIRED_MODULES: Array<[module: string, pkg: string]> = [
  ["tm.so", "kamailio"],
  ["xhttp.so", "kamailio"],
  ["presence.so", "kamailio-presence-modules"],
  ["presence_xml.so", "kamailio-presence-modules"],
  ["rls.so", "kamailio-presence-modules"],
  ["pua.so", "kamailio-presence-modules"],
  ["xcap_server.so", "kamailio-presence-modules"],
  ["db_postgres.so", "kamailio-postgres-modules"],
];
const AUTHEPH_MODULE: [string, string] = ["auth_ephemeral.so", "kamailio-autheph-modules"];
const PUA_USRLOC_MODULE: [string, string] = ["pua_usrloc.so", "kamailio-presence-modules"];
const MSILO_MODULE: [string, string] = ["msilo.so", "kamailio"];

export interface KamailioUser {
  user: string;
  password: string;
}

export interface StartKamailioOptions {
  /** SIP domain and digest realm; default `example.test` */
  domain?: string;
  users?: KamailioUser[];
  /**
   * Shared secret for auth_ephemeral (Herald's `<expiry>:<user>` credentials). Default: a random
   * secret when Debian's kamailio-autheph-modules is installed, autheph off otherwise. `false` turns
   * it off; a string requires the module.
   */
  authephSecret?: string | false;
  /** load pua_usrloc: a registration publishes an "open" tuple (as in the captured fixtures). Default false. */
  puaUsrloc?: boolean;
  /**
   * presence_xml evaluates only IETF `pres-rules` documents: OMA pres-rules (Blink's layout, with
   * external-list conditions Kamailio cannot evaluate) stay readable and writable over XCAP but
   * are hidden from presence_xml (the cfg's WITH_IETF_PRES_RULES_ONLY, sqlops). Default false.
   */
  ietfPresRulesOnly?: boolean;
  /** msilo: a MESSAGE to a user with no registration is stored (202) and sent on their next REGISTER. Default false. */
  msilo?: boolean;
  /** worker processes per listener (children and tcp_children); default 4 */
  children?: number;
  /** Kamailio log level (-1 … 3); default 1 (warnings and errors) */
  debug?: number;
  /** shared / private memory in MB; default 256 / 32 */
  shmMb?: number;
  pkgMb?: number;
  /** use this PostgreSQL cluster instead of starting one (not stopped by stop()) */
  postgres?: PgCluster;
  /** bound for start-up (PostgreSQL + schema + Kamailio ports); default 60 s */
  startTimeoutMs?: number;
}

export interface KamailioServer {
  host: "127.0.0.1";
  domain: string;
  sipPort: number;
  httpPort: number;
  /** `http://127.0.0.1:<httpPort>/xcap-root` */
  xcapRoot: string;
  /** outbound proxy URI for SIP clients: `sip:127.0.0.1:<sipPort>;transport=tcp` */
  proxyUri: string;
  /** the auth_ephemeral secret, when autheph is on */
  authephSecret: string | null;
  puaUsrloc: boolean;
  /** PostgreSQL URL of Kamailio's database */
  dbUrl: string;
  pid: number;
  /** the rendered kamailio.cfg */
  configPath: string;
  /** HA1 (MD5) of a provisioned user */
  ha1(user: string): string;
  /** add a subscriber row (takes effect at once: auth_db reads the table per request) */
  addUser(user: KamailioUser): Promise<void>;
  /** add many subscribers in batched INSERTs (benchmarks with thousands of users) */
  addUsers(users: KamailioUser[]): Promise<void>;
  /** run SQL against Kamailio's database (e.g. inspect active_watchers, rls_watchers, xcap) */
  sql<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>;
  /** an XcapClient for a provisioned user: digest from HA1, the quoted `"*"` wildcard Kamailio needs */
  xcapClient(user: string, options?: Partial<XcapClientOptions>): XcapClient;
  /** a Blink-compatible AddressBook writing to Kamailio's xcap_server */
  addressBook(user: string, options?: Partial<AddressBookOptions>): AddressBook;
  /** everything Kamailio wrote to stderr so far (bounded to the last 2 MB) */
  log(): string;
  stop(): Promise<void>;
}

const LOG_LIMIT = 2 * 1024 * 1024;

function findKamailio(): string {
  for (const p of ["/usr/sbin/kamailio", "/usr/bin/kamailio", "/usr/local/sbin/kamailio"]) if (existsSync(p)) return p;
  throw new Error(
    "Kamailio is not installed: apt-get install kamailio kamailio-presence-modules kamailio-postgres-modules kamailio-xml-modules",
  );
}

function checkModules(mods: Array<[string, string]>): void {
  const missing = mods.filter(([m]) => !existsSync(path.join(KAMAILIO_MODULE_DIR, m)));
  if (missing.length) {
    const pkgs = [...new Set(missing.map(([, p]) => p))];
    throw new Error(`Kamailio modules missing (${missing.map(([m]) => m).join(", ")}): apt-get install ${pkgs.join(" ")}`);
  }
}

/** True when the binary and every required module are installed (for `describe.skipIf`). */
export function kamailioAvailable(): boolean {
  try {
    findKamailio();
    checkModules(REQUIRED_MODULES);
    return true;
  } catch {
    return false;
  }
}

export function authephAvailable(): boolean {
  return existsSync(path.join(KAMAILIO_MODULE_DIR, AUTHEPH_MODULE[0]));
}

/** Render the cfg template; every %%TOKEN%% must be provided. */
export function renderKamailioConfig(values: Record<string, string | number>, template = readFileSync(KAMAILIO_CFG_TEMPLATE, "utf8")): string {
  const out = template.replace(/%%([A-Z_]+)%%/g, (_, k: string) => {
    if (!(k in values)) throw new Error(`kamailio.cfg template: no value for %%${k}%%`);
    return String(values[k]);
  });
  return out;
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

export async function startKamailio(options: StartKamailioOptions = {}): Promise<KamailioServer> {
  const bin = findKamailio();
  checkModules(REQUIRED_MODULES);
  const puaUsrloc = options.puaUsrloc ?? false;
  if (puaUsrloc) checkModules([PUA_USRLOC_MODULE]);
  if (options.msilo) checkModules([MSILO_MODULE]);
  let authephSecret: string | null;
  if (options.authephSecret === false) authephSecret = null;
  else if (typeof options.authephSecret === "string") {
    checkModules([AUTHEPH_MODULE]);
    authephSecret = options.authephSecret;
  } else authephSecret = authephAvailable() ? randomBytes(18).toString("base64url") : null;
  if (authephSecret !== null && /["\\\s]/.test(authephSecret)) throw new Error("authephSecret must not contain quotes, backslashes or spaces");

  const domain = options.domain ?? "example.test";
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  const remaining = () => Math.max(1000, deadline - Date.now());
  const users = new Map<string, string>();

  const ownPg = !options.postgres;
  const cluster = options.postgres ?? (await startPostgres());
  const dir = mkdtempSync(path.join(tmpdir(), "herald-kamailio-"));
  let child: ChildProcess | undefined;
  let pool: pg.Pool | undefined;
  let log = "";
  const cleanup = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child!.once("exit", () => r()));
      child.kill("SIGTERM");
      const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref())]);
      if (!done) {
        child.kill("SIGKILL");
        await exited;
      }
    }
    await pool?.end().catch(() => undefined);
    if (ownPg) await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const dbName = `kamailio_${randomBytes(4).toString("hex")}`;
    cluster.createDatabase(dbName);
    for (const f of [...KAMAILIO_SQL_FILES, ...(options.msilo ? ["msilo-create.sql"] : [])]) {
      const file = path.join(KAMAILIO_SQL_DIR, f);
      if (!existsSync(file)) throw new Error(`${file} missing: apt-get install kamailio (Debian ships Kamailio's SQL there)`);
      execFileSync("psql", ["-h", "127.0.0.1", "-p", String(cluster.port), "-U", "herald", "-d", dbName, "-v", "ON_ERROR_STOP=1", "-q", "-f", file], {
        env: { ...process.env, PGPASSWORD: "herald" },
        stdio: "pipe",
      });
    }
    const dbUrl = cluster.url(dbName);
    pool = new pg.Pool({ connectionString: dbUrl, max: 4 });
    pool.on("error", () => undefined); // idle clients see the cluster shut down at stop()
    const addUser = async ({ user, password }: KamailioUser) => {
      const ha1 = digestHa1(user, domain, password);
      const ha1b = digestHa1(`${user}@${domain}`, domain, password);
      await pool!.query(
        "INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ($1, $2, $3, $4, $5) " +
          "ON CONFLICT (username, domain) DO UPDATE SET password = EXCLUDED.password, ha1 = EXCLUDED.ha1, ha1b = EXCLUDED.ha1b",
        [user, domain, password, ha1, ha1b],
      );
      users.set(user, ha1);
    };
    for (const u of options.users ?? []) await addUser(u);

    const sipPort = await freePort();
    let httpPort = await freePort();
    while (httpPort === sipPort) httpPort = await freePort();
    // Kamailio's db_postgres URL form: postgres://user:pass@host:port/db
    const kamDbUrl = `postgres://herald:herald@127.0.0.1:${cluster.port}/${dbName}`;
    const configPath = path.join(dir, "kamailio.cfg");
    writeFileSync(
      configPath,
      renderKamailioConfig({
        DEBUG: options.debug ?? 1,
        SIP_PORT: sipPort,
        HTTP_PORT: httpPort,
        DOMAIN: domain,
        DB_URL: kamDbUrl,
        CHILDREN: options.children ?? 4,
        AUTHEPH_SECRET: authephSecret ?? "unused",
      }),
    );
    const defines: string[] = [];
    if (authephSecret !== null) defines.push("WITH_AUTHEPH");
    if (puaUsrloc) defines.push("WITH_PUA_USRLOC");
    if (options.ietfPresRulesOnly) defines.push("WITH_IETF_PRES_RULES_ONLY");
    if (options.msilo) defines.push("WITH_MSILO");
    const args = [
      "-DD",
      "-E",
      "-f", configPath,
      "-Y", dir,
      "-w", dir,
      "-m", String(options.shmMb ?? 256),
      "-M", String(options.pkgMb ?? 32),
      ...defines.flatMap((d) => ["-A", d]),
    ];
    child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], cwd: dir });
    const append = (d: Buffer) => {
      log += d.toString("utf8");
      if (log.length > LOG_LIMIT) log = log.slice(log.length - LOG_LIMIT);
    };
    child.stdout!.on("data", append);
    child.stderr!.on("data", append);
    const proc = child;
    // start-up fails fast when kamailio exits (bad config, port taken, database unreachable)
    let stopWatching = () => {};
    const exited = new Promise<never>((_, reject) => {
      const onExit = (code: number | null, signal: string | null) =>
        reject(new Error(`kamailio exited (${code ?? signal}) during start-up:\n${log.slice(-6000)}`));
      proc.once("exit", onExit);
      stopWatching = () => proc.off("exit", onExit);
    });
    exited.catch(() => undefined);
    const xcapRoot = `http://127.0.0.1:${httpPort}/xcap-root`;
    const ready = async () => {
      await waitFor(async () => (await tcpAccepts(sipPort)) && (await tcpAccepts(httpPort)), {
        timeoutMs: remaining(),
        intervalMs: 50,
        what: "kamailio SIP and XCAP ports",
      });
      // an XCAP request answered (401 without credentials) means xhttp + xcap_server are up
      await waitFor(
        async () => {
          const res = await fetch(`${xcapRoot}/xcap-caps/global/index`, { signal: AbortSignal.timeout(2000) });
          await res.arrayBuffer();
          return res.status === 401 || res.status === 200;
        },
        { timeoutMs: remaining(), intervalMs: 50, what: "kamailio xcap_server to answer" },
      );
    };
    try {
      await Promise.race([ready(), exited]);
    } catch (err) {
      throw new Error(`${(err as Error).message}${/exited/.test((err as Error).message) ? "" : `\n${log.slice(-6000)}`}`);
    } finally {
      stopWatching();
    }

    const ha1 = (user: string) => {
      const h = users.get(user);
      if (!h) throw new Error(`kamailio harness: unknown user ${user}`);
      return h;
    };
    const xcapClient = (user: string, extra: Partial<XcapClientOptions> = {}) =>
      new XcapClient({
        root: xcapRoot,
        xui: `sip:${user}@${domain}`,
        auth: { username: user, ha1: ha1(user) },
        wildcard: '"*"',
        ...extra,
      });
    return {
      host: "127.0.0.1",
      domain,
      sipPort,
      httpPort,
      xcapRoot,
      proxyUri: `sip:127.0.0.1:${sipPort};transport=tcp`,
      authephSecret,
      puaUsrloc,
      dbUrl,
      pid: proc.pid!,
      configPath,
      ha1,
      addUser,
      async addUsers(list) {
        for (let i = 0; i < list.length; i += 500) {
          const batch = list.slice(i, i + 500);
          const values: string[] = [];
          const params: string[] = [];
          for (const { user, password } of batch) {
            const h = digestHa1(user, domain, password);
            params.push(user, domain, password, h, digestHa1(`${user}@${domain}`, domain, password));
            const b = params.length - 5;
            values.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5})`);
            users.set(user, h);
          }
          await pool!.query(
            `INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ${values.join(", ")} ` +
              "ON CONFLICT (username, domain) DO UPDATE SET password = EXCLUDED.password, ha1 = EXCLUDED.ha1, ha1b = EXCLUDED.ha1b",
            params,
          );
        }
      },
      async sql(text, values) {
        return (await pool!.query(text, values)).rows;
      },
      xcapClient,
      addressBook: (user, extra = {}) => new AddressBook({ client: xcapClient(user), ...extra }),
      log: () => log,
      stop: cleanup,
    };
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }
}

/**
 * The shape tests/bench/presence-load.ts drives (its BenchTarget), for Kamailio: provisions
 * `count` users `<prefix><i>` and allows watchers with inline-identity pres-rules (Kamailio ignores
 * Blink's OMA conditions and has no catch-all rule).
 */
export async function kamailioBenchTarget(
  k: KamailioServer,
  opts: { count: number; prefix?: string; password?: string },
): Promise<{
  name: string;
  host: string;
  port: number;
  domain: string;
  account(i: number): { user: string; password: string };
  allowAll(presentities: string[], watchers: string[]): Promise<void>;
}> {
  const prefix = opts.prefix ?? "u";
  const password = opts.password ?? "bench-password";
  await k.addUsers(Array.from({ length: opts.count }, (_, i) => ({ user: `${prefix}${i}`, password })));
  return {
    name: "kamailio",
    host: k.host,
    port: k.sipPort,
    domain: k.domain,
    account: (i) => ({ user: `${prefix}${i}`, password }),
    async allowAll(presentities, watchers) {
      const rules = presRulesXml([{ id: "bench-allow", identities: watchers, subHandling: "allow" }]);
      for (const p of presentities) {
        const user = /^sips?:([^@]+)@/.exec(p)?.[1];
        if (!user) throw new Error(`not a SIP AOR: ${p}`);
        await k.xcapClient(user).putDocument("pres-rules", "index", rules);
      }
    },
  };
}

/** A process and all its descendants (Kamailio forks its workers). */
export function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(d), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, pp] of parent) if (pp === out[i]) out.push(pid);
  return out;
}

/** Proportional set size of a process (shared pages split among their users), bytes. */
export function pssBytes(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Summed PSS of a Kamailio instance's processes (shm + pkg; its PostgreSQL not counted). */
export function kamailioMemoryBytes(k: { pid: number }): number {
  return processTree(k.pid).reduce((s, p) => s + pssBytes(p), 0);
}
