/** Herald's process logger: one line per event on stderr, level-filtered; never logs secrets. */
import type { LogLevel, SipLogger } from "./sip/logger";

export type { LogLevel };
export { componentLogger, noopLogger } from "./sip/logger";
/** The logger type every component accepts (one type: lib/sip's); prefix with `componentLogger`. */
export type Logger = SipLogger;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function logger(minLevel: LogLevel = "info", write: (line: string) => void = (l) => process.stderr.write(l + "\n")): Logger {
  return (level, msg, meta) => {
    if (ORDER[level] < ORDER[minLevel]) return;
    const extra = meta && Object.keys(meta).length ? " " + JSON.stringify(meta, redact) : "";
    write(`${new Date().toISOString()} ${level.padEnd(5)} ${msg}${extra}`);
  };
}

const SECRET_KEYS = /pass(word)?|secret|ha1|authorization|cookie|token/i;
function redact(key: string, value: unknown) {
  return key && SECRET_KEYS.test(key) ? "[redacted]" : value;
}
