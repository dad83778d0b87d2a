/**
 * Helpers to read the Kamailio 5.6 captures in ../shared/fixtures/sip/kamailio-5.6/.
 * The capture tool normalised line endings to LF; `toCrlf` restores them for strict parsers.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const KAMAILIO_DIR =
  process.env.HERALD_FIXTURES_DIR ?? fileURLToPath(new URL("../../../../shared/fixtures/sip/kamailio-5.6/", import.meta.url));

export interface CapturedMessage {
  startLine: string;
  headers: Map<string, string>;
  body: string;
}

/** Every SIP message in a fixture file (messages are separated by a line of dashes). */
export function readSipFixture(name: string): CapturedMessage[] {
  const text = readFileSync(KAMAILIO_DIR + name, "utf8");
  return text
    .split(/\n-{20,}\n/)
    .map((chunk) => chunk.replace(/^\n+/, ""))
    .filter((chunk) => chunk.trim().length > 0)
    .map((chunk) => {
      const sep = chunk.indexOf("\n\n");
      const head = sep < 0 ? chunk : chunk.slice(0, sep);
      const body = sep < 0 ? "" : chunk.slice(sep + 2);
      const [startLine, ...lines] = head.split("\n");
      const headers = new Map<string, string>();
      for (const l of lines) {
        const i = l.indexOf(":");
        if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
      }
      return { startLine, headers, body };
    });
}

/** Bodies of the messages whose Content-Type starts with `type`. */
export function bodiesOfType(name: string, type: string): CapturedMessage[] {
  return readSipFixture(name).filter((m) => (m.headers.get("content-type") ?? "").toLowerCase().startsWith(type));
}

export function toCrlf(s: string): string {
  return s.replace(/\r?\n/g, "\r\n");
}
