export type LogLevel = "debug" | "info" | "warn" | "error";
/** Optional logger every lib/sip component accepts; `msg` is prefixed with a namespace such as `sip:transport`. */
export type SipLogger = (level: LogLevel, msg: string, meta?: Record<string, unknown>) => void;
export const noopLogger: SipLogger = () => {};
