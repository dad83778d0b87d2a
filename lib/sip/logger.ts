export type LogLevel = "debug" | "info" | "warn" | "error";
/** Optional logger every component accepts; `msg` is prefixed with a namespace such as `sip:transport`. */
export type SipLogger = (level: LogLevel, msg: string, meta?: Record<string, unknown>) => void;
export const noopLogger: SipLogger = () => {};

/**
 * The one way to make a component's logger: every message prefixed with its namespace
 * (`sip:transaction`, `presence:notifier`, `bridge:ws`); a no-op without a sink.
 */
export function componentLogger(namespace: string, log: SipLogger | undefined): SipLogger {
  return log ? (level, msg, meta) => log(level, `${namespace} ${msg}`, meta) : noopLogger;
}
