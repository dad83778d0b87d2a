import { describe, expect, it } from "vitest";
import { activeWatchers, applyWatcherInfoNotify, EMPTY_WATCHER_LIST, pendingWatchers, type WatcherListState } from "@/lib/client";
import { winfo } from "./fixtures";

function applied(state: WatcherListState, body: string): WatcherListState {
  const out = applyWatcherInfoNotify(state, body);
  if (out.kind !== "applied") throw new Error(`expected applied, got ${out.kind}`);
  return out.state;
}

describe("watcherinfo merge (RFC 3857/3858)", () => {
  it("full state lists watchers; pending ones are requests, active ones can see me", () => {
    const s = applied(
      EMPTY_WATCHER_LIST,
      winfo(0, "full", [
        { id: "a", uri: "sip:bob@example.test", status: "pending" },
        { id: "b", uri: "sip:carol@example.test", status: "active", event: "approved" },
        { id: "c", uri: "sip:carol@example.test", status: "active", event: "approved" },
        { id: "d", uri: "sip:eve@example.test", status: "waiting" },
      ]),
    );
    expect(s.watchers.size).toBe(4);
    expect(pendingWatchers(s).map((w) => w.uri)).toEqual(["sip:bob@example.test", "sip:eve@example.test"]);
    expect(activeWatchers(s).map((w) => w.uri)).toEqual(["sip:carol@example.test"]);
    expect(activeWatchers(s)[0]).toMatchObject({ resource: "sip:alice@example.test", package: "presence" });
  });

  it("partial state updates watchers by id; an allowed request moves to active", () => {
    let s = applied(EMPTY_WATCHER_LIST, winfo(0, "full", [{ id: "a", uri: "sip:bob@example.test", status: "pending" }]));
    s = applied(s, winfo(1, "partial", [{ id: "a", uri: "sip:bob@example.test", status: "active", event: "approved" }]));
    expect(pendingWatchers(s)).toEqual([]);
    expect(activeWatchers(s).map((w) => w.uri)).toEqual(["sip:bob@example.test"]);
    s = applied(s, winfo(2, "partial", [{ id: "z", uri: "sip:zed@example.test", status: "pending" }]));
    expect(s.watchers.size).toBe(2);
    s = applied(s, winfo(3, "partial", [{ id: "a", uri: "sip:bob@example.test", status: "terminated", event: "rejected" }]));
    expect(activeWatchers(s)).toEqual([]);
  });

  it("a pending entry of a URI that also has an active subscription is not a request", () => {
    const s = applied(
      EMPTY_WATCHER_LIST,
      winfo(0, "full", [
        { id: "a", uri: "sip:bob@example.test", status: "active" },
        { id: "b", uri: "sip:bob@example.test", status: "pending" },
      ]),
    );
    expect(pendingWatchers(s)).toEqual([]);
  });

  it("leaves the user's own subscriptions out of requests and watchers", () => {
    const s = applied(
      EMPTY_WATCHER_LIST,
      winfo(0, "full", [
        { id: "a", uri: "sip:alice@example.test", status: "pending" },
        { id: "b", uri: "sip:Alice@Example.test", status: "active" },
        { id: "c", uri: "sip:bob@example.test", status: "pending" },
      ]),
    );
    expect(pendingWatchers(s, "sip:alice@example.test").map((w) => w.uri)).toEqual(["sip:bob@example.test"]);
    expect(activeWatchers(s, "sip:alice@example.test")).toEqual([]);
  });

  it("detects version gaps and ignores old versions", () => {
    const s = applied(EMPTY_WATCHER_LIST, winfo(4, "full", []));
    expect(applyWatcherInfoNotify(s, winfo(6, "partial", []))).toMatchObject({ kind: "gap", expected: 5, got: 6 });
    expect(applyWatcherInfoNotify(s, winfo(4, "partial", []))).toMatchObject({ kind: "ignored" });
    expect(applyWatcherInfoNotify(EMPTY_WATCHER_LIST, winfo(0, "partial", []))).toMatchObject({ kind: "gap" });
    expect(applyWatcherInfoNotify(s, winfo(5, "full", [{ id: "x", uri: "sip:x@example.test" }]))).toMatchObject({ kind: "applied" });
  });
});
