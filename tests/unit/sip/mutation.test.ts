/**
 * Seeded mutation (fuzz) test: 100,000 randomly damaged messages through the parser and the
 * stream framer. Only SipParseError may escape the parser; the framer never throws; every
 * message that parses serializes to something that parses again.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMessage } from "../../../lib/sip/parser";
import { serializeMessage } from "../../../lib/sip/serializer";
import { SipParseError } from "../../../lib/sip/parse-error";
import { SipStreamParser } from "../../../lib/sip/stream-parser";
import { loadKamailioFixtures } from "./fixture-loader";
import { mutate, prng } from "./fuzz-helpers";

const rfcDir = join(process.cwd(), "tests/fixtures/sip/rfc4475");
const corpus: Buffer[] = [
  ...loadKamailioFixtures().filter((f) => !f.isHttp && f.exact).map((f) => f.wire),
  ...readdirSync(rfcDir).filter((f) => f.endsWith(".sip")).map((f) => readFileSync(join(rfcDir, f))),
];

const N = 100_000;

describe("mutation fuzzing", () => {
  it(`parser: ${N} damaged messages, only SipParseError, re-serializable`, () => {
    const rnd = prng(0x5eed);
    let parsed = 0;
    let rejected = 0;
    let slowest = 0;
    for (let i = 0; i < N; i++) {
      const input = mutate(corpus[i % corpus.length], rnd);
      const t0 = performance.now();
      try {
        const m = parseMessage(input);
        try {
          m.validate();
        } catch (e) {
          if (!(e instanceof SipParseError)) throw e;
        }
        const again = parseMessage(serializeMessage(m), { stream: true });
        expect(again.startLine()).toBe(m.startLine());
        parsed++;
      } catch (e) {
        if (!(e instanceof SipParseError)) throw new Error(`non-SipParseError for input ${i}: ${String(e)}\n${input.toString("latin1")}`);
        rejected++;
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
    expect(parsed + rejected).toBe(N);
    expect(parsed).toBeGreaterThan(N / 20);
    expect(rejected).toBeGreaterThan(N / 20);
    // no pathological backtracking (which takes seconds to for ever): far above a GC pause on a loaded machine
    expect(slowest).toBeLessThan(2000);
  });

  it(`framer: ${N} damaged messages in random chunks never throw`, () => {
    const rnd = prng(0xf4a3e);
    let events = 0;
    let fatal = 0;
    for (let i = 0; i < N; i++) {
      const input = Buffer.concat([mutate(corpus[i % corpus.length], rnd), corpus[(i + 7) % corpus.length]]);
      const p = new SipStreamParser({ maxMessageSize: 8192, maxHeaderSize: 8192 });
      p.on("message", () => events++);
      p.on("parseError", (e) => {
        expect(e).toBeInstanceOf(SipParseError);
        events++;
      });
      p.on("framingError", (e) => {
        expect(e).toBeInstanceOf(SipParseError);
        fatal++;
      });
      let off = 0;
      while (off < input.length) {
        const n = 1 + Math.floor(rnd() * 300);
        p.push(input.subarray(off, off + n));
        off += n;
        expect(p.buffered).toBeLessThanOrEqual(8192 + 300);
      }
    }
    expect(events + fatal).toBeGreaterThan(N / 2);
  });
});
