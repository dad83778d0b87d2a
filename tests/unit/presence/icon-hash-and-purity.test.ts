import { readdirSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { iconHashTag, iconUrlWithHash, parseIconUrlHash } from "../../../lib/presence/icon-hash";
import { sha1 } from "../../../lib/presence/sha1";
import * as presence from "../../../lib/presence";

describe("sha1 / icon hash", () => {
  it("matches node:crypto on assorted inputs", () => {
    for (const s of ["", "abc", "a".repeat(55), "a".repeat(56), "a".repeat(64), "é — ünïcode", "x".repeat(1000)]) {
      expect(sha1(s)).toBe(createHash("sha1").update(s, "utf8").digest("hex"));
    }
    const bytes = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
    expect(sha1(bytes)).toBe(createHash("sha1").update(bytes).digest("hex"));
  });

  it("builds and parses Blink-style icon URLs", () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const url = "http://xcap.example.test/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index";
    const tagged = iconUrlWithHash(`${url}#old`, png);
    expect(tagged).toBe(`${url}#blink-icon${createHash("sha1").update(png).digest("hex")}`);
    expect(parseIconUrlHash(tagged)).toEqual({ url, hash: createHash("sha1").update(png).digest("hex") });
    expect(iconHashTag(png, { prefix: "", length: 8 })).toHaveLength(8);
    expect(parseIconUrlHash(url)).toEqual({ url });
    expect(parseIconUrlHash(`${url}#other`)).toEqual({ url });
  });
});

describe("lib/presence stays browser-safe", () => {
  it("imports nothing Node-only or framework-specific", () => {
    const dir = new URL("../../../lib/presence/", import.meta.url);
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts"))) {
      const src = readFileSync(new URL(f, dir), "utf8");
      const imports = [...src.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]);
      for (const i of imports) {
        expect([f, i]).toEqual([f, expect.stringMatching(/^(\.\/[a-z0-9-]+|\.\.\/xml|\.\.\/sip\/aor)$/)]);
      }
      expect([f, /\bBuffer\b|process\.env|console\./.test(src)]).toEqual([f, false]);
    }
  });
  it("the barrel exposes the main entry points", () => {
    for (const name of ["parsePidf", "composePidf", "summarizePresence", "composePresence", "parsePresRules", "evaluatePresRules", "authorizeWatcher", "applyTransformations", "composeWatcherInfo", "parseWatcherInfo", "composeRlmi", "parseRlmi", "composeMultipartRelated", "composeRlsNotifyBody", "parseMultipartRelated", "parsePidfManipulation", "iconUrlWithHash"]) {
      expect(typeof (presence as Record<string, unknown>)[name]).toBe("function");
    }
  });
});
