/** The XMPP gateway's variables in lib/config.ts. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "@/lib/config";

const dir = () => mkdtempSync(path.join(tmpdir(), "herald-cfg-"));
const full = { XMPP_COMPONENT_URL: "tcp://127.0.0.1:5347", XMPP_COMPONENT_SECRET: "s3cret", XMPP_COMPONENT_DOMAIN: "Example.test", XMPP_DOMAINS: "xmpp.example, Jabber.example" };

/** The configuration error `env` causes (fails when it loads). */
const refusal = (env: Record<string, string>): ConfigError => {
  let error: unknown;
  expect(() => {
    try {
      loadConfig({ HERALD_DATA_DIR: dir(), ...env });
    } catch (e) {
      error = e;
      throw e;
    }
  }).toThrow(ConfigError);
  return error as ConfigError;
};

describe("XMPP gateway configuration", () => {
  it("is off by default and parsed when set", () => {
    expect(loadConfig({ HERALD_DATA_DIR: dir() }).XMPP_COMPONENT_URL).toBeUndefined();
    const c = loadConfig({ HERALD_DATA_DIR: dir(), ...full });
    expect(c.XMPP_COMPONENT_DOMAIN).toBe("example.test");
    expect(c.XMPP_DOMAINS).toEqual(["xmpp.example", "jabber.example"]);
  });

  it("names each bad or missing variable", () => {
    expect(refusal({ ...full, XMPP_COMPONENT_URL: "xmpp.example:5347" }).problems.map((p) => p.variable)).toEqual(["XMPP_COMPONENT_URL"]);
    expect(refusal({ ...full, XMPP_DOMAINS: "ok.example,not a domain" }).problems).toEqual([{ variable: "XMPP_DOMAINS", message: "not a domain name: not a domain" }]);
    expect(refusal({ XMPP_COMPONENT_URL: full.XMPP_COMPONENT_URL }).problems.map((p) => p.variable)).toEqual(["XMPP_COMPONENT_SECRET", "XMPP_COMPONENT_DOMAIN", "XMPP_DOMAINS"]);
    expect(refusal({ ...full, XMPP_DOMAINS: "example.test" }).problems.map((p) => p.variable)).toEqual(["XMPP_DOMAINS"]);
  });

  it("bounds the SIP subscriptions one XMPP user makes through the gateway: 1000 by default, a positive whole number when set", () => {
    expect(loadConfig({ HERALD_DATA_DIR: dir(), ...full }).XMPP_MAX_SUBSCRIPTIONS_PER_USER).toBe(1000);
    expect(loadConfig({ HERALD_DATA_DIR: dir(), ...full, XMPP_MAX_SUBSCRIPTIONS_PER_USER: "25" }).XMPP_MAX_SUBSCRIPTIONS_PER_USER).toBe(25);
    for (const bad of ["0", "-3", "2.5", "many"]) expect(refusal({ ...full, XMPP_MAX_SUBSCRIPTIONS_PER_USER: bad }).problems.map((p) => p.variable)).toEqual(["XMPP_MAX_SUBSCRIPTIONS_PER_USER"]);
  });
});
