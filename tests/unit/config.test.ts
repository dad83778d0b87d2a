import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "@/lib/config";

const dir = () => mkdtempSync(path.join(tmpdir(), "herald-cfg-"));

function problems(env: Record<string, string>) {
  try {
    loadConfig({ HERALD_DATA_DIR: dir(), ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("configuration", () => {
  it("has working defaults", () => {
    const c = loadConfig({ HERALD_DATA_DIR: dir() });
    expect(c.PORT).toBe(3000);
    expect(c.SIP_PORT).toBe(5060);
    expect(c.DATABASE_URL).toBe("file:./data/herald.db");
    expect(c.SIP_EMBEDDED).toBe(true);
    expect(c.authSecret.length).toBeGreaterThanOrEqual(32);
  });

  it("bounds the embedded SIP server by default: header timeout, connections per address, publications per presentity, unread bytes per connection", () => {
    const c = loadConfig({ HERALD_DATA_DIR: dir() });
    expect([c.SIP_HEADER_TIMEOUT_SECONDS, c.SIP_MAX_CONNECTIONS_PER_ADDRESS, c.SIP_MAX_PUBLICATIONS_PER_PRESENTITY, c.SIP_MAX_SEND_BACKLOG_BYTES]).toEqual([30, 100, 20, 4 * 1024 * 1024]);
  });

  it("rate-limits NOTIFYs per presentity to one round a second by default; SIP_NOTIFY_INTERVAL_MS=0 turns it off", () => {
    expect(loadConfig({ HERALD_DATA_DIR: dir() }).SIP_NOTIFY_INTERVAL_MS).toBe(1000);
    expect(loadConfig({ HERALD_DATA_DIR: dir(), SIP_NOTIFY_INTERVAL_MS: "0" }).SIP_NOTIFY_INTERVAL_MS).toBe(0);
  });

  it("builds 16 RLS lists at once by default (RLS_MAX_CONCURRENT_BUILDS), overridable, at least 1", () => {
    expect(loadConfig({ HERALD_DATA_DIR: dir() }).RLS_MAX_CONCURRENT_BUILDS).toBe(16);
    expect(loadConfig({ HERALD_DATA_DIR: dir(), RLS_MAX_CONCURRENT_BUILDS: "4" }).RLS_MAX_CONCURRENT_BUILDS).toBe(4);
    for (const bad of ["0", "2.5", "many"]) expect(problems({ RLS_MAX_CONCURRENT_BUILDS: bad }).map((p) => p.variable)).toEqual(["RLS_MAX_CONCURRENT_BUILDS"]);
  });

  it("offers MD5 digest alone by default; SIP_DIGEST_ALGORITHMS lists them in order", () => {
    expect(loadConfig({ HERALD_DATA_DIR: dir() }).SIP_DIGEST_ALGORITHMS).toEqual(["MD5"]);
    expect(loadConfig({ HERALD_DATA_DIR: dir(), SIP_DIGEST_ALGORITHMS: "sha-256, MD5" }).SIP_DIGEST_ALGORITHMS).toEqual(["SHA-256", "MD5"]);
  });

  it("has the bridge connection limits and the revocation poll period, overridable", () => {
    const c = loadConfig({ HERALD_DATA_DIR: dir() });
    expect([c.BRIDGE_MAX_CONNECTIONS_PER_USER, c.BRIDGE_MAX_CONNECTIONS_PER_ADDRESS, c.SESSION_REVOCATION_POLL_MS]).toEqual([20, 100, 1000]);
    const o = loadConfig({ HERALD_DATA_DIR: dir(), BRIDGE_MAX_CONNECTIONS_PER_USER: "3", BRIDGE_MAX_CONNECTIONS_PER_ADDRESS: "7", SESSION_REVOCATION_POLL_MS: "250" });
    expect([o.BRIDGE_MAX_CONNECTIONS_PER_USER, o.BRIDGE_MAX_CONNECTIONS_PER_ADDRESS, o.SESSION_REVOCATION_POLL_MS]).toEqual([3, 7, 250]);
  });

  it("keeps the generated secrets across starts", () => {
    const d = dir();
    expect(loadConfig({ HERALD_DATA_DIR: d }).authSecret).toBe(loadConfig({ HERALD_DATA_DIR: d }).authSecret);
  });

  it.each([
    [{ PORT: "http" }, "PORT", /port number/],
    [{ PORT: "70000" }, "PORT", /65535/],
    [{ DATABASE_URL: "mysql://x/y" }, "DATABASE_URL", /file: .*postgresql/],
    [{ SIP_EMBEDDED: "maybe" }, "SIP_EMBEDDED", /true or false/],
    [{ AUTH_SECRET: "short" }, "AUTH_SECRET", /32/],
    [{ SIP_UPSTREAM: "http://x" }, "SIP_UPSTREAM", /sip:host/],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL", /debug, info/],
    [{ SIP_TLS_CERT: "/nonexistent.pem" }, "SIP_TLS_KEY", /go together/],
    [{ SIP_EMBEDDED: "false" }, "SIP_UPSTREAM", /required/],
    [{ SIP_DIGEST_ALGORITHMS: "SHA-1" }, "SIP_DIGEST_ALGORITHMS", /MD5 and\/or SHA-256/],
    [{ SIP_DIGEST_ALGORITHMS: "MD5,md5" }, "SIP_DIGEST_ALGORITHMS", /each once/],
    [{ SIP_HEADER_TIMEOUT_SECONDS: "61" }, "SIP_HEADER_TIMEOUT_SECONDS", /at most 60/],
    [{ SIP_HEADER_TIMEOUT_SECONDS: "0" }, "SIP_HEADER_TIMEOUT_SECONDS", /at least 1/],
    [{ SIP_MAX_CONNECTIONS_PER_ADDRESS: "-1" }, "SIP_MAX_CONNECTIONS_PER_ADDRESS", /0 \(no limit\) or more/],
    [{ SIP_MAX_PUBLICATIONS_PER_PRESENTITY: "0" }, "SIP_MAX_PUBLICATIONS_PER_PRESENTITY", /at least 1/],
    [{ SIP_MAX_SEND_BACKLOG_BYTES: "-1" }, "SIP_MAX_SEND_BACKLOG_BYTES", /0 \(no limit\) or more/],
    [{ SIP_NOTIFY_INTERVAL_MS: "-5" }, "SIP_NOTIFY_INTERVAL_MS", /0 \(no limit\) or more/],
    [{ BRIDGE_MAX_CONNECTIONS_PER_USER: "0" }, "BRIDGE_MAX_CONNECTIONS_PER_USER", /at least 1/],
    [{ BRIDGE_MAX_CONNECTIONS_PER_ADDRESS: "many" }, "BRIDGE_MAX_CONNECTIONS_PER_ADDRESS", /number/],
    [{ SESSION_REVOCATION_POLL_MS: "600000" }, "SESSION_REVOCATION_POLL_MS", /at most 60000/],
  ])("rejects %j naming the variable", (env, variable, message) => {
    const p = problems(env as Record<string, string>);
    const hit = p.find((x) => x.variable === variable);
    expect(hit, JSON.stringify(p)).toBeDefined();
    expect(hit!.message).toMatch(message);
  });

  it("formats one line per bad variable", () => {
    try {
      loadConfig({ HERALD_DATA_DIR: dir(), PORT: "x", SIP_PORT: "-1" });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/PORT: .*\n.*SIP_PORT: /);
    }
  });
});

describe("SIP_FLOW_GRACE_SECONDS", () => {
  it("defaults to 30 s and names itself when it is not a whole number of seconds", () => {
    expect(loadConfig({ HERALD_DATA_DIR: dir() }).SIP_FLOW_GRACE_SECONDS).toBe(30);
    expect(loadConfig({ HERALD_DATA_DIR: dir(), SIP_FLOW_GRACE_SECONDS: "5" }).SIP_FLOW_GRACE_SECONDS).toBe(5);
    expect(problems({ SIP_FLOW_GRACE_SECONDS: "soon" }).find((x) => x.variable === "SIP_FLOW_GRACE_SECONDS")?.message).toMatch(/number/);
    expect(problems({ SIP_FLOW_GRACE_SECONDS: "-1" }).find((x) => x.variable === "SIP_FLOW_GRACE_SECONDS")?.message).toMatch(/0 or more/);
  });
});
