import { describe, expect, it } from "vitest";
import { PresenceAuthorizer } from "@/lib/server/presence-authorizer";
import { MemoryXcapStore } from "@/lib/xcap/server";

describe("PresenceAuthorizer: own presence", () => {
  const authz = new PresenceAuthorizer({ store: new MemoryXcapStore() });

  it("lets an authenticated user watch their own presence without any rules document", async () => {
    const p = await authz.authorize("sip:alice@example.test", { uri: "sip:alice@EXAMPLE.test", authenticated: true });
    expect(p.subHandling).toBe("allow");
    expect(p.transformationsDefaulted).toBe(true);
  });

  it("keeps the no-document default (confirm) for everybody else and for unauthenticated claims", async () => {
    expect((await authz.authorize("sip:alice@example.test", { uri: "sip:bob@example.test", authenticated: true })).subHandling).toBe("confirm");
    expect((await authz.authorize("sip:alice@example.test", { uri: "sip:alice@example.test", authenticated: false })).subHandling).not.toBe("allow");
  });
});
