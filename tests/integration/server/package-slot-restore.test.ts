/**
 * The package's slot across a restart: a presence subscription persists its watcher's
 * permissions in the package's own slot and gets full bodies after the restart — also from a row
 * written before packages owned their slot (the permissions under `permissions`).
 */
import { afterEach, describe, expect, it } from "vitest";
import { MemoryPresenceStateStore } from "@/lib/server";
import { pidf, type SipTestClient } from "../../helpers/sip-client";
import { waitFor } from "../../helpers/wait";
import { DOMAIN, XcapFixture, allowRules, client, startServer } from "./harness";

const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});
async function ua(port: number, user: string): Promise<SipTestClient> {
  const c = await client(port, user);
  cleanup.push(() => c.close());
  return c;
}

/** A server whose alice allows bob, on a state store that outlives it, and bob connected to it. */
async function bobWatchingAlice() {
  const state = new MemoryPresenceStateStore();
  const xcap = new XcapFixture();
  await xcap.put(ALICE, "org.openmobilealliance.pres-rules", allowRules(ALICE, [BOB]));
  const first = await startServer({ state }, xcap);
  const bob = await ua(first.port, "bob");
  await bob.listen();
  return { state, xcap, first, bob };
}

describe("package-owned subscription state across a restart", () => {
  for (const legacy of [false, true]) {
    it(legacy ? "restores a row of the earlier format (permissions beside the record)" : "persists the slot and restores it", async () => {
      const { state, xcap, first, bob } = await bobWatchingAlice();
      const { sub } = await bob.subscribe(ALICE, { expires: 3600 });
      await bob.waitForNotify(() => true, { sub });
      await first.server.stop();
      const [row] = await state.load("subscription");
      const record = JSON.parse(row!.data) as { slot?: { subHandling?: string }; permissions?: unknown };
      expect(record.slot?.subHandling).toBe("allow");
      if (legacy) {
        record.permissions = record.slot;
        delete record.slot;
        await state.apply([{ kind: "subscription", key: row!.key, data: JSON.stringify(record), expiresAt: row!.expiresAt }]);
      }
      await waitFor(() => bob.closed, { what: "bob's connection to close" });

      const second = await startServer({ state }, xcap);
      cleanup.push(() => second.server.stop());
      expect(second.server.notifier.size).toBe(1);
      // restored with its permissions, before any re-evaluation of the rules could set them again
      expect([...second.server.notifier.all()][0]!.slot).toMatchObject({ key: "full", permissions: { subHandling: "allow" } });
      const alice = await ua(second.port, "alice");
      expect((await alice.publish(pidf(ALICE, "open", "after restart"))).status).toBe(200);
      const n = await bob.waitForNotify((x) => x.bodyText.includes("after restart"), { sub, timeoutMs: 10_000 });
      expect(n.getHeader("Content-Type")).toBe("application/pidf+xml");
    });
  }

  it("restored subscriptions with equal permissions share one slot, as live ones do", async () => {
    const { state, xcap, first, bob } = await bobWatchingAlice();
    for (let i = 0; i < 2; i++) {
      const { sub } = await bob.subscribe(ALICE, { expires: 3600 });
      await bob.waitForNotify(() => true, { sub });
    }
    const live = [...first.server.notifier.all()];
    expect(live[0]!.slot).toBe(live[1]!.slot);
    await first.server.stop();
    expect(await state.load("subscription")).toHaveLength(2);

    const second = await startServer({ state }, xcap);
    cleanup.push(() => second.server.stop());
    // before any re-evaluation of the rules could set them again
    const restored = [...second.server.notifier.all()];
    expect(restored).toHaveLength(2);
    expect(restored[0]!.slot).toMatchObject({ key: "full", permissions: { subHandling: "allow" } });
    expect(restored[0]!.slot).toBe(restored[1]!.slot);
  });
});
