import { describe, expect, it } from "vitest";
import { PresencePayloadError } from "../../../lib/presence/errors";
import { composeWatcherInfo } from "../../../lib/presence/watcher-info-composer";
import { parseWatcherInfo } from "../../../lib/presence/watcher-info-parser";
import type { WatcherInfo } from "../../../lib/presence/watcher-info";
import { bodiesOfType } from "./fixtures";
import { expectValidXml } from "./xsd";

const INFO: WatcherInfo = {
  version: 7,
  state: "full",
  watcherLists: [
    {
      resource: "sip:alice@example.test",
      package: "presence",
      watchers: [
        { uri: "sip:bob@example.test", id: "sub-1", status: "active", event: "approved", displayName: "Bob \"B\" <b>", durationSubscribed: 120, expiration: 480, lang: "en" },
        { uri: "sip:carol@example.test", id: "sub-2", status: "pending", event: "subscribe" },
        { uri: "sip:mallory@example.test", id: "sub-3", status: "terminated", event: "rejected" },
      ],
    },
    { resource: "sip:alice@example.test", package: "dialog", watchers: [] },
  ],
};

describe("watcher info", () => {
  it("composes schema-valid full and partial documents", async () => {
    await expectValidXml(composeWatcherInfo(INFO));
    await expectValidXml(composeWatcherInfo({ version: 8, state: "partial", watcherLists: [{ ...INFO.watcherLists[0], watchers: [INFO.watcherLists[0].watchers[1]] }] }));
    await expectValidXml(composeWatcherInfo({ version: 0, state: "full", watcherLists: [] }));
    expect(() => composeWatcherInfo({ ...INFO, version: -1 })).toThrow(RangeError);
  });

  it("leaves out an expiration that is not a number of seconds (a subscription without an end)", async () => {
    const forever = { ...INFO, watcherLists: [{ ...INFO.watcherLists[0], watchers: [{ ...INFO.watcherLists[0].watchers[0], expiration: Infinity }] }] };
    const xml = composeWatcherInfo(forever);
    expect(xml).not.toContain("expiration=");
    await expectValidXml(xml);
  });

  it("round-trips", () => {
    const back = parseWatcherInfo(composeWatcherInfo(INFO));
    expect({ ...back, extensions: undefined }).toEqual({ ...INFO, extensions: undefined });
  });

  it("parses Kamailio's winfo NOTIFYs", () => {
    for (const f of ["winfo-notify-active.txt", "winfo-notify-pending.txt", "winfo-notify-block.txt"]) {
      for (const m of bodiesOfType(f, "application/watcherinfo+xml")) {
        const info = parseWatcherInfo(m.body);
        expect(info.watcherLists[0]?.resource ?? "sip:alice@example.test").toBe("sip:alice@example.test");
      }
    }
    const [active] = bodiesOfType("winfo-notify-active.txt", "application/watcherinfo+xml");
    expect(parseWatcherInfo(active.body)).toMatchObject({
      version: 3,
      state: "full",
      watcherLists: [{ resource: "sip:alice@example.test", package: "presence", watchers: [{ uri: "sip:bob@example.test", id: "09b140aa9c718a08@127.0.0.1", event: "subscribe", status: "active" }] }],
    });
  });

  it("rejects malformed documents with typed errors", () => {
    const code = (x: string) => {
      try {
        parseWatcherInfo(x);
        return "ok";
      } catch (e) {
        return (e as PresencePayloadError).code;
      }
    };
    expect(code('<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" state="full"/>')).toBe("missing-attribute");
    expect(code('<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="1" state="half"/>')).toBe("invalid-value");
    expect(code("<watcherinfo/>")).toBe("wrong-root");
    expect(code("<watcherinfo")).toBe("not-xml");
  });
});
