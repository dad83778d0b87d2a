/**
 * Messages for tests/security/sip-fuzz.test.ts: REGISTER / PUBLISH / SUBSCRIBE / NOTIFY from alice
 * (bodies included), most with valid digest credentials, and seeded structured mutations of them.
 */
import { buildDigestAuthorization } from "@/lib/sip";
import { rawRequest } from "../helpers/raw-sip";
import { DOMAIN } from "../integration/server/harness";

export const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
/** A closed port on loopback: NOTIFYs to a Contact fail at once instead of waiting for a connect timeout. */
export const DEAD_CONTACT = "<sip:alice@127.0.0.1:9;transport=tcp>";

export type Rnd = () => number;
const pick = <T>(rnd: Rnd, list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
const int = (rnd: Rnd, n: number) => Math.floor(rnd() * n);

// ---- message templates ----------------------------------------------------------------------------

const PIDF_BODIES: ReadonlyArray<(note: string) => string> = [
  (note) => `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${ALICE}"><tuple id="t1"><status><basic>open</basic></status><note>${note}</note></tuple></presence>`,
  (note) => `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${ALICE}">
  <tuple id="pc"><status><basic>open</basic></status><contact priority="0.8">sip:alice@127.0.0.1</contact><timestamp>2026-01-01T00:00:00Z</timestamp></tuple>
  <dm:person id="p1"><rpid:activities><rpid:busy/></rpid:activities><dm:note xml:lang="en">${note}</dm:note></dm:person>
  <dm:device id="d1"><dm:deviceID>urn:uuid:00000000-0000-0000-0000-000000000001</dm:deviceID></dm:device>
</presence>`,
  () => `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${ALICE}"><tuple id="t1"><status><basic>closed</basic></status></tuple></presence>`,
  () => `<?xml version="1.0"?><!DOCTYPE presence [<!ENTITY x SYSTEM "file:///etc/passwd">]><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${ALICE}"><tuple id="t1"><status><basic>open</basic></status><note>&x;</note></tuple></presence>`,
];
const NOTES = ["Available", "In a meeting", "ünïcödé ✓", "a & b &lt; c", "", "x".repeat(300)];

export interface Draft {
  lines: string[];
  body: string;
}

export interface Worker {
  id: number;
  rnd: Rnd;
  challenge?: string;
  ha1?: string;
  nc: number;
  seq: number;
}

export function draft(w: Worker): Draft {
  const n = ++w.seq;
  const branch = `z9hG4bKf${w.id}x${n}`;
  const via = `Via: SIP/2.0/TCP 127.0.0.1:5999;branch=${branch};rport`;
  const common = (method: string, to: string) => [via, "Max-Forwards: 70", `From: <${ALICE}>;tag=ft${w.id}x${n}`, `To: <${to}>`, `Call-ID: fuzz-${w.id}-${n}@test`, `CSeq: ${n} ${method}`];
  const kind = w.rnd();
  let method: string;
  let uri: string;
  let lines: string[];
  let body = "";
  if (kind < 0.25) {
    method = "REGISTER";
    uri = `sip:${DOMAIN}`;
    lines = [...common(method, ALICE), `Contact: ${DEAD_CONTACT};expires=${pick(w.rnd, ["600", "0", "3600"])}`, `Expires: ${pick(w.rnd, ["600", "3600"])}`];
  } else if (kind < 0.5) {
    method = "PUBLISH";
    uri = ALICE;
    body = pick(w.rnd, PIDF_BODIES)(pick(w.rnd, NOTES));
    lines = [...common(method, ALICE), "Event: presence", `Expires: ${pick(w.rnd, ["600", "3600", "0"])}`, "Content-Type: application/pidf+xml"];
  } else if (kind < 0.85) {
    method = "SUBSCRIBE";
    const winfo = w.rnd() < 0.25;
    uri = winfo ? ALICE : pick(w.rnd, [ALICE, BOB, `sip:nobody@${DOMAIN}`, "sip:alice+presence@example.test"]);
    // fetches (RFC 6665 §4.4.3): one NOTIFY each, no subscription left to pile up
    const expires = "0";
    lines = [...common(method, uri), `Event: ${winfo ? "presence.winfo" : "presence"}`, `Expires: ${expires}`, `Contact: ${DEAD_CONTACT}`, `Accept: ${winfo ? "application/watcherinfo+xml" : "application/pidf+xml"}`];
  } else {
    method = "NOTIFY";
    uri = ALICE;
    body = pick(w.rnd, PIDF_BODIES)(pick(w.rnd, NOTES));
    const to = `<${ALICE}>;tag=tt${n}`;
    lines = [via, "Max-Forwards: 70", `From: <${BOB}>;tag=fb${n}`, `To: ${to}`, `Call-ID: fuzz-notify-${w.id}-${n}@test`, `CSeq: ${n} NOTIFY`, "Event: presence", "Subscription-State: active;expires=60", "Content-Type: application/pidf+xml"];
  }
  if (method !== "NOTIFY" && w.challenge && w.rnd() < 0.9) {
    const header = method === "REGISTER" ? "Authorization" : "Proxy-Authorization";
    const value = buildDigestAuthorization({ challenge: w.challenge, method, uri, username: "alice", ha1: w.ha1, nc: ++w.nc, cnonce: `c${w.id}x${n}` });
    lines.push(`${header}: ${value}`);
  }
  return { lines: [`${method} ${uri} SIP/2.0`, ...lines], body };
}

// ---- mutations ------------------------------------------------------------------------------------

const INTERESTING = ["\r", "\n", "\r\n", "\0", '"', "<", ">", ";", ":", ",", " ", "\t", "%", "\\", "\u00ff", "é", "\u{1F600}", "=", "@"];

/** Structured mutations on the header lines and the body (before Content-Length is written). */
export function mutateDraft(d: Draft, rnd: Rnd, trace?: number[]): { d: Draft; contentLength?: number } {
  let contentLength: number | undefined;
  const ops = 1 + int(rnd, 3);
  for (let k = 0; k < ops; k++) {
    const op = int(rnd, 100);
    trace?.push(Math.floor(op / 2) * 2);
    const li = int(rnd, d.lines.length);
    if (op < 14) {
      // a line break (or another character) inside a header value or the start line
      const l = d.lines[li]!;
      const at = int(rnd, l.length + 1);
      d.lines[li] = l.slice(0, at) + pick(rnd, INTERESTING) + l.slice(at);
    } else if (op < 30 && d.body) {
      // a line break inside a tag: `</\ntuple>` and friends
      const tags = [...d.body.matchAll(/<\/?/g)].map((m) => m.index! + m[0].length);
      const at = tags.length ? pick(rnd, tags) : int(rnd, d.body.length);
      d.body = d.body.slice(0, at) + pick(rnd, ["\n", "\r\n", " ", "\0", ">", "<"]) + d.body.slice(at);
    } else if (op < 38 && d.body) {
      d.body = d.body.slice(0, int(rnd, d.body.length)); // truncated body
    } else if (op < 46 && d.lines.length > 1) {
      d.lines.splice(1 + int(rnd, d.lines.length - 1), 0, d.lines[1 + int(rnd, d.lines.length - 1)]!); // duplicated header
    } else if (op < 56 && d.lines.length > 1) {
      d.lines.splice(1 + int(rnd, d.lines.length - 1), 1); // removed header
    } else if (op < 62) {
      // truncated header value or start line
      const l = d.lines[li]!;
      d.lines[li] = l.slice(0, int(rnd, l.length));
    } else if (op < 66) {
      // a huge value: some stay within the limits, some go beyond (513 and a close)
      const size = pick(rnd, [1000, 8000, 20_000]);
      if (rnd() < 0.5) d.lines[li] += "v".repeat(size);
      else if (d.body) d.body = d.body.replace("</presence>", `<note>${"n".repeat(size * (rnd() < 0.3 ? 4 : 1))}</note></presence>`);
    } else if (op < 69) {
      // deep nesting
      const depth = pick(rnd, [100, 3000]);
      d.body = `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${ALICE}">${"<a>".repeat(depth)}${"</a>".repeat(depth)}</presence>`;
    } else if (op < 71) {
      contentLength = Math.max(0, Buffer.byteLength(d.body) + pick(rnd, [-5, -1, 1, 3])); // wrong Content-Length
    } else if (op < 78) {
      // a value swapped for something odd
      const l = d.lines[li]!;
      const colon = l.indexOf(":");
      if (colon > 0) d.lines[li] = l.slice(0, colon + 1) + " " + pick(rnd, ["", "<>", "<sip:>", ";;;", "sip:alice@example.test;tag=", "4294967296", "-1", "*", '"unterminated', "SIP/2.0/TCP", "1 ", "a".repeat(200)]);
    } else if (op < 82) {
      d.lines[li] = d.lines[li]!.toLowerCase(); // header names and methods in other case
    } else if (op < 86) {
      // a compact or folded form
      const l = d.lines[li]!;
      d.lines[li] = l.replace(": ", ":\r\n ");
    } else if (op < 90) {
      // a different or invalid method on the start line (and maybe not in CSeq)
      const m = pick(rnd, ["OPTIONS", "ACK", "INVITE", "CANCEL", "BYE", "MESSAGE", "PUB@LISH", "", "SIP/2.0"]);
      d.lines[0] = d.lines[0]!.replace(/^\S*/, m);
    } else if (op < 94) {
      d.lines[0] = d.lines[0]!.replace("SIP/2.0", pick(rnd, ["SIP/3.0", "SIP/2.0 extra", "HTTP/1.1", "SIP/2", "sip/2.0"]));
    } else {
      d.body += pick(rnd, ["", "\r\n\r\n", "garbage", "\0\0\0"]); // trailing bytes in the body
    }
  }
  return { d, contentLength };
}

/** The wire bytes; a few messages also get raw byte flips after serialization (framing included). */
export function wire(w: Worker): Buffer {
  const { d, contentLength } = mutateDraft(draft(w), w.rnd);
  const b = Buffer.from(rawRequest(d.lines, d.body, contentLength), "utf8");
  if (w.rnd() < 0.15) {
    const flips = 1 + int(w.rnd, 3);
    for (let i = 0; i < flips; i++) {
      const at = int(w.rnd, b.length);
      b[at] = w.rnd() < 0.5 ? b[at]! ^ (1 << int(w.rnd, 8)) : Buffer.from(pick(w.rnd, INTERESTING), "latin1")[0]!;
    }
  }
  return b;
}

