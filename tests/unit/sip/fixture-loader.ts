/**
 * Loads the LF-normalised capture files from /work/shared/fixtures and restores wire bytes:
 * CRLF in the header block; the body is rebuilt so its byte length equals Content-Length
 * (Kamailio's XML bodies were LF-only, multipart structure lines CRLF). See fixtures/README.md.
 */
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";

export const SHARED_FIXTURES = process.env.HERALD_SHARED_FIXTURES ?? join(process.cwd(), "..", "shared", "fixtures");
export const KAMAILIO_DIR = join(SHARED_FIXTURES, "sip", "kamailio-5.6");
export const CLIENTS_DIR = join(SHARED_FIXTURES, "clients");

export interface FixtureMessage {
  file: string;
  index: number;
  /** First line, for test names. */
  startLine: string;
  wire: Buffer;
  /** true when the body could be rebuilt byte-exact to the declared Content-Length. */
  exact: boolean;
  /** HTTP messages (XCAP) interleaved in the SIP captures; not SIP. */
  isHttp: boolean;
}

const SEPARATOR_RE = /\n-{10,}[^\n]*\n/;
const CL_RE = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im;

function rebuildBody(lfBody: string, declared: number | undefined): { body: Buffer; exact: boolean } {
  const text = lfBody.replace(/\n+$/, "\n");
  const candidates: string[] = [];
  candidates.push(text, text.replace(/\n/g, "\r\n"), text.replace(/\n$/, ""), text.replace(/\n$/, "").replace(/\n/g, "\r\n"));
  // multipart: boundary lines, part headers and the blank line after them are CRLF, content LF
  if (text.startsWith("--")) {
    let out = "";
    let inPartHeader = false;
    const lines = text.split("\n");
    for (let i = 0; i < lines.length - 1; i++) {
      const l = lines[i];
      const structural = l.startsWith("--") || inPartHeader || l === "";
      if (l.startsWith("--")) inPartHeader = true;
      else if (l === "") inPartHeader = false;
      out += l + (structural ? "\r\n" : "\n");
    }
    candidates.push(out);
  }
  if (declared === undefined) return { body: Buffer.from(candidates[0]), exact: true };
  if (declared === 0) return { body: Buffer.alloc(0), exact: true };
  for (const c of candidates) if (Buffer.byteLength(c) === declared) return { body: Buffer.from(c), exact: true };
  // Not reconstructible byte-exact: keep the longest (CRLF) form; datagram parsing truncates per RFC 3261 §18.3.
  return { body: Buffer.from(candidates[1]), exact: false };
}

export function toWire(chunk: string): { wire: Buffer; exact: boolean } {
  const trimmed = chunk.replace(/^\n+/, "");
  const sep = trimmed.indexOf("\n\n");
  const headText = sep < 0 ? trimmed.replace(/\n+$/, "") : trimmed.slice(0, sep);
  const lfBody = sep < 0 ? "" : trimmed.slice(sep + 2);
  const m = CL_RE.exec(headText);
  const declared = m ? Number(m[1]) : undefined;
  const { body, exact } = rebuildBody(lfBody, declared);
  return { wire: Buffer.concat([Buffer.from(headText.replace(/\n/g, "\r\n") + "\r\n\r\n"), body]), exact };
}

export function loadKamailioFixtures(): FixtureMessage[] {
  const out: FixtureMessage[] = [];
  const files = readdirSync(KAMAILIO_DIR).filter((f) => f.endsWith(".txt") && f !== "full-transcript.txt").sort();
  for (const file of files) {
    const chunks = readFileSync(join(KAMAILIO_DIR, file), "utf8").split(SEPARATOR_RE);
    chunks.forEach((chunk, index) => {
      if (chunk.trim() === "") return;
      const { wire, exact } = toWire(chunk);
      const startLine = wire.toString("utf8", 0, wire.indexOf("\r\n"));
      out.push({ file, index, startLine, wire, exact, isHttp: startLine.startsWith("HTTP/") });
    });
  }
  return out;
}

/** full-transcript.txt: `===== ... SENT|RECV tcp|http ... =====` blocks; only the SIP (tcp) ones. */
export function loadTranscriptFixtures(): FixtureMessage[] {
  const path = join(KAMAILIO_DIR, "full-transcript.txt");
  const text = readFileSync(path, "utf8");
  const out: FixtureMessage[] = [];
  const blocks = text.split(/^=====[^\n]*=====\n/m);
  const heads = text.match(/^=====[^\n]*=====$/gm) ?? [];
  for (let i = 1; i < blocks.length; i++) {
    if (!/ (SENT|RECV) tcp /.test(heads[i - 1] ?? "")) continue;
    const chunk = blocks[i].split(/^#{4,}/m)[0];
    const { wire, exact } = toWire(chunk);
    const startLine = wire.toString("utf8", 0, wire.indexOf("\r\n"));
    out.push({ file: "full-transcript.txt", index: i, startLine, wire, exact, isHttp: false });
  }
  return out;
}

/** SIPp `-trace_msg` logs keep CRLF and state each message's byte count: `(349 bytes)` / `[445] bytes`. */
export function loadSippFixtures(): FixtureMessage[] {
  const out: FixtureMessage[] = [];
  if (!existsSync(CLIENTS_DIR)) return out;
  for (const file of readdirSync(CLIENTS_DIR).filter((f) => f.startsWith("sipp-")).sort()) {
    const blocks = readFileSync(join(CLIENTS_DIR, file)).toString("latin1").split(/^-{20,}[^\n]*\n/m);
    blocks.forEach((block, index) => {
      const m = /^(?:UDP|TCP) message (?:sent|received) (?:\((\d+) bytes\)|\[(\d+)\] bytes) ?:\n\n/.exec(block);
      if (!m) return;
      const size = Number(m[1] ?? m[2]);
      const wire = Buffer.from(block.slice(m[0].length), "latin1").subarray(0, size);
      const startLine = wire.toString("utf8", 0, wire.indexOf("\r\n"));
      out.push({ file, index, startLine, wire, exact: wire.length === size, isHttp: false });
    });
  }
  return out;
}
