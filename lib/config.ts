/**
 * Herald's one configuration module. Every variable is documented in README.md (Configuration);
 * a bad value stops start-up with a message naming the variable and what is wrong.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isIP } from "node:net";
import { z } from "zod";
import { parseDatabaseUrl } from "./database-url";
import { processWide, setProcessWide } from "./process-wide";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");
const port = z.coerce
  .number({ message: "must be a port number" })
  .int("must be a whole number")
  .min(0, "must be between 0 and 65535")
  .max(65535, "must be between 0 and 65535");
const positiveInt = z.coerce.number({ message: "must be a number" }).int("must be a whole number").min(1, "must be at least 1");

/** Comma-separated IP addresses (reverse proxies whose X-Forwarded-For is trusted). */
const addressList = z
  .string()
  .transform((v) => v.split(",").map((a) => a.trim()).filter(Boolean))
  .superRefine((list, ctx) => {
    for (const a of list) if (!isIP(a)) ctx.addIssue({ code: "custom", message: `not an IP address: ${a}` });
  });

/** A DNS domain name (lower-cased). */
const domainRe = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const domainName = z
  .string()
  .transform((v) => v.trim().toLowerCase())
  .refine((v) => domainRe.test(v), "must be a domain name such as example.test");
const domainList = z
  .string()
  .transform((v) => v.split(",").map((d) => d.trim().toLowerCase()).filter(Boolean))
  .superRefine((list, ctx) => {
    for (const d of list) if (!domainRe.test(d)) ctx.addIssue({ code: "custom", message: `not a domain name: ${d}` });
  });

const sipUri = z
  .string()
  .regex(/^sips?:[^:;]+(:\d+)?(;transport=(tcp|tls))?$/i, "must look like sip:host:port;transport=tcp|tls");

export const configSchema = z.object({
  DATABASE_URL: z
    .string()
    .default("file:./data/herald.db")
    .superRefine((v, ctx) => {
      try {
        parseDatabaseUrl(v);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
      }
    }),
  HERALD_DATA_DIR: z.string().min(1).default("./data"),
  HOST: z.string().min(1).default("0.0.0.0"),
  PORT: port.default(3000),
  PUBLIC_URL: z.url({ message: "must be an absolute URL such as https://herald.example.com" }).optional(),
  AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  SIP_EMBEDDED: bool.default(true),
  SIP_HOST: z.string().min(1).default("0.0.0.0"),
  SIP_PORT: port.default(5060),
  SIP_TLS_PORT: port.default(5061),
  SIP_TLS_CERT: z.string().optional(),
  SIP_TLS_KEY: z.string().optional(),
  SIP_UPSTREAM: sipUri.optional(),
  SIP_EPHEMERAL_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  SIP_EPHEMERAL_TTL: positiveInt.default(3600),
  SIP_FLOW_GRACE_SECONDS: z.coerce.number({ message: "must be a number" }).int("must be a whole number").min(0, "must be 0 or more").default(30),
  SIP_DIGEST_ALGORITHMS: z
    .string()
    .default("MD5")
    .transform((v, ctx) => {
      const list = v.split(",").map((a) => a.trim().toUpperCase()).filter((a) => a !== "");
      const bad = list.filter((a) => a !== "MD5" && a !== "SHA-256");
      if (list.length === 0 || bad.length > 0 || new Set(list).size !== list.length) {
        ctx.addIssue({ code: "custom", message: "must list MD5 and/or SHA-256, comma-separated, each once (e.g. MD5 or SHA-256,MD5)" });
        return z.NEVER;
      }
      return list as Array<"MD5" | "SHA-256">;
    }),
  SIP_HEADER_TIMEOUT_SECONDS: positiveInt.max(60, "must be at most 60").default(30),
  SIP_MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number({ message: "must be a number" }).int("must be a whole number").min(0, "must be 0 (no limit) or more").default(100),
  SIP_MAX_PUBLICATIONS_PER_PRESENTITY: positiveInt.default(20),
  SIP_MAX_SEND_BACKLOG_BYTES: z.coerce.number({ message: "must be a number" }).int("must be a whole number").min(0, "must be 0 (no limit) or more").default(4 * 1024 * 1024),
  SIP_NOTIFY_INTERVAL_MS: z.coerce.number({ message: "must be a number" }).int("must be a whole number").min(0, "must be 0 (no limit) or more").max(60_000, "must be at most 60000").default(1000),
  IM_MAX_MESSAGE_BYTES: positiveInt.default(16384),
  IM_OFFLINE_MAX_PER_USER: positiveInt.default(100),
  IM_OFFLINE_RETENTION_DAYS: positiveInt.default(7),
  IM_HISTORY_RETENTION_DAYS: z.coerce.number({ message: "must be a number" }).int("must be a whole number").min(0, "must be 0 (keep no history) or more").default(30),
  IM_DELIVERY_TIMEOUT_SECONDS: positiveInt.max(30, "must be at most 30").default(8),
  IM_RULES_CACHE_ENTRIES: positiveInt.default(10000),
  XMPP_COMPONENT_URL: z
    .string()
    .regex(/^tcp:\/\/[^/:\s]+:\d{1,5}$/, "must look like tcp://host:port (the XMPP server's component port)")
    .optional(),
  XMPP_COMPONENT_SECRET: z.string().min(1).optional(),
  XMPP_COMPONENT_DOMAIN: domainName.optional(),
  XMPP_DOMAINS: domainList.optional(),
  XMPP_MAX_SUBSCRIPTIONS_PER_USER: positiveInt.default(1000),
  RLS_MAX_CONCURRENT_BUILDS: positiveInt.default(16),
  XCAP_ROOT_PATH: z
    .string()
    .regex(/^\/[A-Za-z0-9._~/-]*[^/]$/, "must be a path such as /xcap-root (no trailing slash)")
    .default("/xcap-root"),
  XCAP_SERVER_URL: z.url({ message: "must be an absolute http(s) URL of an XCAP root" }).optional(),
  XCAP_IDENTITY_RULES: bool.default(false),
  XCAP_MAX_BODY: positiveInt.default(1024 * 1024),
  XCAP_MAX_DOCUMENTS_PER_USER: positiveInt.default(100),
  XCAP_MAX_BYTES_PER_USER: positiveInt.default(10 * 1024 * 1024),
  XCAP_MAX_DEPTH: positiveInt.default(100),
  AUTH_FAILURES_PER_ACCOUNT_ADDRESS: positiveInt.default(5),
  AUTH_FAILURES_PER_ADDRESS: positiveInt.default(20),
  AUTH_FAILURES_PER_ACCOUNT: positiveInt.default(50),
  AUTH_BACKOFF_MAX_SECONDS: positiveInt.default(900),
  AUTH_FAILURE_WINDOW_SECONDS: positiveInt.default(3600),
  TRUSTED_PROXIES: addressList.default([]),
  HTTP_HEADER_TIMEOUT_SECONDS: positiveInt.default(30),
  BRIDGE_MAX_CONNECTIONS_PER_USER: positiveInt.default(20),
  BRIDGE_MAX_CONNECTIONS_PER_ADDRESS: positiveInt.default(100),
  SESSION_REVOCATION_POLL_MS: positiveInt.max(60_000, "must be at most 60000").default(1000),
  METRICS_TOKEN: z.string().min(32, "must be at least 32 characters").optional(),
  METRICS_ALLOW: addressList.default([]),
  LIST_MAX_MEMBERS: positiveInt.max(5000, "must be at most 5000").default(500),
  CONSOLE_CHART_SAMPLE_SECONDS: positiveInt.max(300, "must be at most 300").default(10),
  AUTO_AWAY_MINUTES: z.coerce.number({ message: "must be a number" }).int().min(0, "must be 0 (off) or more").default(10),
  NOTE_MAX_CHARS: positiveInt.max(1000, "must be at most 1000").default(200),
  VIRTUAL_PRESENTITIES_MAX: positiveInt.max(100_000, "must be at most 100000").default(1000),
  DISPLAY_NAME_MAX_CHARS: positiveInt.max(200, "must be at most 200").default(100),
  DISPLAY_NAME_CHANGES_PER_HOUR: positiveInt.default(10),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"], { message: "must be debug, info, warn or error" }).default("info"),
});

export type HeraldEnv = z.infer<typeof configSchema>;

export interface HeraldConfig extends HeraldEnv {
  /** Resolved absolute data directory. */
  dataDir: string;
  /** The secret next-auth signs sessions with (AUTH_SECRET or generated and kept in the data dir). */
  authSecret: string;
  /** Shared secret for short-lived SIP credentials (autheph scheme). */
  ephemeralSecret: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      "Invalid configuration:\n" + problems.map((p) => `  ${p.variable}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** Validate an environment (pure except for reading/writing generated secrets in the data dir). */
export function loadConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): HeraldConfig {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== "") raw[key] = v;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? "?"), message: i.message })),
    );
  }
  const c = parsed.data;
  const problems: { variable: string; message: string }[] = [];
  if (Boolean(c.SIP_TLS_CERT) !== Boolean(c.SIP_TLS_KEY)) {
    problems.push({ variable: c.SIP_TLS_CERT ? "SIP_TLS_KEY" : "SIP_TLS_CERT", message: "SIP_TLS_CERT and SIP_TLS_KEY go together" });
  }
  for (const v of ["SIP_TLS_CERT", "SIP_TLS_KEY"] as const) {
    const file = c[v];
    if (file && !existsSync(/*turbopackIgnore: true*/ path.resolve(cwd, file))) problems.push({ variable: v, message: `file not found: ${file}` });
  }
  if (!c.SIP_EMBEDDED && !c.SIP_UPSTREAM) {
    problems.push({ variable: "SIP_UPSTREAM", message: "is required when SIP_EMBEDDED=false" });
  }
  // the XMPP gateway runs when XMPP_COMPONENT_URL is set, and then needs all four variables
  const xmpp = ["XMPP_COMPONENT_URL", "XMPP_COMPONENT_SECRET", "XMPP_COMPONENT_DOMAIN", "XMPP_DOMAINS"] as const;
  if (xmpp.some((v) => c[v] !== undefined)) {
    for (const v of xmpp) {
      const value = c[v];
      if (value === undefined || (Array.isArray(value) && value.length === 0)) problems.push({ variable: v, message: `is required with ${xmpp.filter((o) => o !== v && c[o] !== undefined).join(", ")}` });
    }
    if (c.XMPP_COMPONENT_DOMAIN && c.XMPP_DOMAINS?.includes(c.XMPP_COMPONENT_DOMAIN)) {
      problems.push({ variable: "XMPP_DOMAINS", message: `must not contain XMPP_COMPONENT_DOMAIN (${c.XMPP_COMPONENT_DOMAIN}): that is Herald's own domain` });
    }
  }
  if (problems.length) throw new ConfigError(problems);
  const dataDir = path.resolve(cwd, c.HERALD_DATA_DIR);
  return {
    ...c,
    dataDir,
    authSecret: c.AUTH_SECRET ?? persistentSecret(dataDir, "auth-secret"),
    ephemeralSecret: c.SIP_EPHEMERAL_SECRET ?? persistentSecret(dataDir, "sip-ephemeral-secret"),
  };
}

/** A random secret generated on first start and kept (mode 0600) in the data directory. */
function persistentSecret(dataDir: string, name: string): string {
  const file = path.join(dataDir, name);
  if (existsSync(/*turbopackIgnore: true*/ file)) return readFileSync(/*turbopackIgnore: true*/ file, "utf8").trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(file, secret + "\n", { mode: 0o600 });
  return secret;
}

const CONFIG_KEY = "__heraldConfig";

/** The process configuration, validated once. */
export function config(): HeraldConfig {
  return processWide(CONFIG_KEY, () => loadConfig());
}

/** Install the process configuration (start-up, from the validated environment). */
export function setConfig(cfg: HeraldConfig): void {
  setProcessWide(CONFIG_KEY, cfg);
}
