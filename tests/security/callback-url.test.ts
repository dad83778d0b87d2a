/**
 * ISSUE-11 item 7: after sign-in the portal sends the browser to a path on its own origin only.
 * Browsers drop tabs and newlines from URLs and read `\` as `/`, so `/\t/evil.example/` is
 * `//evil.example/`, another site; CR, LF or non-ASCII in a Location header gave 500.
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "@/lib/config";
import { authOptions } from "@/lib/portal/auth";
import { safeCallbackUrl } from "@/lib/portal/callback-url";

/** Where a browser on http://portal.test goes with `Location: <value>`. */
const destination = (value: string) => new URL(value, "http://portal.test/login").origin;

describe("post-login destination", () => {
  it.each([
    ["/\t/evil.example/", "/"],
    ["/\n/evil.example/", "/"],
    ["/\r\nSet-Cookie: x=1", "/"],
    ["//evil.example/", "/"],
    ["/\\evil.example/", "/"],
    ["/\\/evil.example/", "/"],
    ["/./\\evil.example", "/"],
    ["/..//evil.example", "/"],
    ["https://evil.example/", "/"],
    ["javascript:alert(1)", "/"],
    ["", "/"],
    [undefined, "/"],
    ["/me", "/me"],
    ["/me?tab=privacy#icon", "/me?tab=privacy#icon"],
    ["/admin/../me", "/me"],
    ["/été", "/%C3%A9t%C3%A9"],
  ])("safeCallbackUrl(%j) = %j", (raw, expected) => {
    const out = safeCallbackUrl(raw);
    expect(out).toBe(expected);
    expect(destination(out)).toBe("http://portal.test");
    expect(out).toMatch(/^[\x21-\x7e]+$/); // a valid Location value: printable ASCII only
  });

  it("next-auth's redirect callback keeps only same-origin paths", async () => {
    (globalThis as { __heraldConfig?: unknown }).__heraldConfig ??= loadConfig({ HERALD_DATA_DIR: mkdtempSync(path.join(tmpdir(), "herald-cb-")) });
    const redirect = authOptions().callbacks!.redirect!;
    const baseUrl = "http://portal.test";
    const go = (url: string) => redirect({ url, baseUrl });
    expect(await go("/\t/evil.example/")).toBe("http://portal.test/");
    expect(await go("http://portal.test/\t/evil.example/")).toBe("http://portal.test/");
    expect(await go("https://evil.example/me")).toBe("http://portal.test");
    expect(await go("http://portal.test.evil.example/")).toBe("http://portal.test");
    expect(await go("/me?x=1")).toBe("http://portal.test/me?x=1");
    expect(await go("http://portal.test/me")).toBe("http://portal.test/me");
    for (const u of ["/\t/evil.example/", "//evil.example", "/\\evil.example"]) expect(destination(await go(u))).toBe(baseUrl);
  });
});
