import { describe, expect, it, vi } from "vitest";

describe("processWide", () => {
  it("creates the object once, shared by separate copies of the module (Next.js bundle and custom server)", async () => {
    const a = await import("../../lib/process-wide");
    vi.resetModules();
    const b = await import("../../lib/process-wide");
    expect(a).not.toBe(b);
    let created = 0;
    const one = a.processWide("__heraldTestSingleton", () => ({ n: ++created }));
    const two = b.processWide("__heraldTestSingleton", () => ({ n: ++created }));
    expect(two).toBe(one);
    expect(created).toBe(1);
  });
  it("setProcessWide installs the object every copy then sees", async () => {
    const { processWide, setProcessWide } = await import("../../lib/process-wide");
    setProcessWide("__heraldTestInstalled", "installed");
    expect(processWide("__heraldTestInstalled", () => "created")).toBe("installed");
  });
});
