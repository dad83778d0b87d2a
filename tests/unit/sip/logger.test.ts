import { describe, expect, it } from "vitest";
import { componentLogger, noopLogger, type SipLogger } from "../../../lib/sip";

describe("componentLogger", () => {
  it("prefixes every message with the component's namespace and passes level and meta through", () => {
    const lines: unknown[] = [];
    const sink: SipLogger = (level, msg, meta) => lines.push([level, msg, meta]);
    const log = componentLogger("presence:notifier", sink);
    log("warn", "NOTIFY failed", { status: 408 });
    log("debug", "sent");
    expect(lines).toEqual([
      ["warn", "presence:notifier NOTIFY failed", { status: 408 }],
      ["debug", "presence:notifier sent", undefined],
    ]);
  });
  it("is the no-op logger without a sink", () => {
    expect(componentLogger("sip:transport", undefined)).toBe(noopLogger);
  });
});
