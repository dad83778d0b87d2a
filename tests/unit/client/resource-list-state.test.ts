import { describe, expect, it } from "vitest";
import { applyRlsNotify, EMPTY_RESOURCE_LIST, markResourceListStale, PresenceStore, type ResourceListState } from "@/lib/client";
import { composePidf } from "@/lib/presence";
import { LIST_URI, rlsNotify } from "./fixtures";

function apply(state: ResourceListState, n: { contentType: string; body: string }, now = 1000) {
  return applyRlsNotify(state, n.contentType, n.body, now);
}

function applied(state: ResourceListState, n: { contentType: string; body: string }, now = 1000): ResourceListState {
  const out = apply(state, n, now);
  if (out.kind !== "applied") throw new Error(`expected applied, got ${out.kind}`);
  return out.state;
}

describe("RLS NOTIFY merge (RFC 4662)", () => {
  it("full state builds the list with per-resource summaries, names and instance states", () => {
    const s = applied(
      EMPTY_RESOURCE_LIST,
      rlsNotify(0, true, [
        { uri: "sip:bob@example.test", name: "Bob", status: "busy", note: "In a meeting" },
        { uri: "sip:carol@example.test", name: "Carol", state: "pending" },
        { uri: "sip:dave@example.test", state: "terminated", reason: "rejected" },
      ]),
    );
    expect(s.version).toBe(0);
    expect(s.uri).toBe(LIST_URI);
    const bob = s.resources.get("sip:bob@example.test");
    expect(bob).toMatchObject({ name: "Bob", state: "active", availability: "busy", stale: false, lastChange: 1000 });
    expect(bob?.summary?.note).toBe("In a meeting");
    expect(s.resources.get("sip:carol@example.test")).toMatchObject({ state: "pending", availability: "unknown" });
    expect(s.resources.get("sip:carol@example.test")?.summary).toBeUndefined();
    expect(s.resources.get("sip:dave@example.test")).toMatchObject({ state: "terminated", reason: "rejected", availability: "offline" });
  });

  it("partial state updates only the named resources and keeps the others", () => {
    let s = applied(EMPTY_RESOURCE_LIST, rlsNotify(0, true, [{ uri: "sip:bob@example.test", name: "Bob" }, { uri: "sip:carol@example.test", status: "away" }]));
    s = applied(s, rlsNotify(1, false, [{ uri: "sip:bob@example.test", status: "busy" }]), 2000);
    expect(s.version).toBe(1);
    expect(s.resources.get("sip:bob@example.test")).toMatchObject({ availability: "busy", name: "Bob", lastChange: 2000 });
    expect(s.resources.get("sip:carol@example.test")).toMatchObject({ availability: "away", lastChange: 1000 });
  });

  it("an active instance without a body part keeps its last state", () => {
    let s = applied(EMPTY_RESOURCE_LIST, rlsNotify(0, true, [{ uri: "sip:bob@example.test", status: "away" }]));
    s = applied(s, rlsNotify(1, false, [{ uri: "sip:bob@example.test", noBody: true }]), 2000);
    expect(s.resources.get("sip:bob@example.test")).toMatchObject({ availability: "away", lastChange: 1000 });
  });

  it("full state replaces the list: resources no longer listed disappear", () => {
    let s = applied(EMPTY_RESOURCE_LIST, rlsNotify(0, true, [{ uri: "sip:bob@example.test" }, { uri: "sip:carol@example.test" }]));
    s = applied(s, rlsNotify(1, true, [{ uri: "sip:carol@example.test", status: "busy" }]));
    expect([...s.resources.keys()]).toEqual(["sip:carol@example.test"]);
  });

  it("detects a version gap in partial state and ignores replays", () => {
    const s = applied(EMPTY_RESOURCE_LIST, rlsNotify(3, true, [{ uri: "sip:bob@example.test" }]));
    expect(apply(s, rlsNotify(5, false, [{ uri: "sip:bob@example.test", status: "busy" }]))).toMatchObject({ kind: "gap", expected: 4, got: 5 });
    expect(apply(s, rlsNotify(3, false, [{ uri: "sip:bob@example.test" }]))).toMatchObject({ kind: "ignored" });
    expect(apply(s, rlsNotify(2, true, [{ uri: "sip:bob@example.test" }]))).toMatchObject({ kind: "ignored" });
    // partial state before any full state is a gap as well
    expect(apply(EMPTY_RESOURCE_LIST, rlsNotify(0, false, [{ uri: "sip:bob@example.test" }]))).toMatchObject({ kind: "gap", got: 0 });
  });

  it("marking stale drops every live state but keeps names; fresh full state makes them live again", () => {
    let s = applied(EMPTY_RESOURCE_LIST, rlsNotify(7, true, [{ uri: "sip:bob@example.test", name: "Bob", status: "available" }]));
    s = markResourceListStale(s, 5000);
    const bob = s.resources.get("sip:bob@example.test");
    expect(bob).toMatchObject({ name: "Bob", state: "unknown", availability: "unknown", stale: true });
    expect(bob?.summary).toBeUndefined();
    expect(s.version).toBeUndefined();
    // new subscription: versions start again at 0
    s = applied(s, rlsNotify(0, true, [{ uri: "sip:bob@example.test", status: "available" }]), 6000);
    expect(s.resources.get("sip:bob@example.test")).toMatchObject({ stale: false, availability: "available", lastChange: 6000 });
  });

  it("accepts a plain PIDF body (no RLS) and an RLMI-only body", () => {
    const pidf = composePidf({ entity: "sip:bob@example.test", extended: "away" });
    const s = applied(EMPTY_RESOURCE_LIST, { contentType: "application/pidf+xml", body: pidf });
    expect(s.resources.get("sip:bob@example.test")?.availability).toBe("away");
    const rlmi = `<?xml version="1.0"?><list xmlns="urn:ietf:params:xml:ns:rlmi" uri="${LIST_URI}" version="0" fullState="true"><resource uri="sip:x@example.test"><name>X</name><instance id="1" state="pending"/></resource></list>`;
    const s2 = applied(EMPTY_RESOURCE_LIST, { contentType: "application/rlmi+xml", body: rlmi });
    expect(s2.resources.get("sip:x@example.test")).toMatchObject({ name: "X", state: "pending" });
  });

  it("rejects a malformed body with the payload error", () => {
    expect(() => apply(EMPTY_RESOURCE_LIST, { contentType: 'multipart/related;type="application/rlmi+xml";boundary=zz', body: "garbage" })).toThrow();
  });
});

describe("PresenceStore", () => {
  it("is a stable external store: same snapshot until a change, listeners notified on change", () => {
    const store = new PresenceStore();
    const first = store.getSnapshot();
    expect(store.getSnapshot()).toBe(first);
    expect(first).toMatchObject({ connection: "offline", registered: false, contactsLive: false, watchers: [], myPresence: { status: "available" } });
    let calls = 0;
    const off = store.subscribe(() => calls++);
    store.setConnection("connecting");
    store.setConnection("connecting");
    expect(calls).toBe(1);
    expect(store.getSnapshot()).not.toBe(first);
    expect(store.getServerSnapshot()).toBe(first);
    off();
    store.setConnection("online");
    expect(calls).toBe(1);
  });

  it("markStale leaves no contact and no self state showing as live", () => {
    const store = new PresenceStore();
    store.setResourceList(applied(EMPTY_RESOURCE_LIST, rlsNotify(0, true, [{ uri: "sip:bob@example.test", status: "busy" }])));
    expect(store.getSnapshot().contactsLive).toBe(true);
    store.setSelf({ entity: "sip:alice@example.test", availability: "away", notes: [], activities: [], devices: [] });
    expect(store.getSnapshot().selfStatus).toBe("away");
    store.markStale();
    const snap = store.getSnapshot();
    expect(snap.contactsLive).toBe(false);
    expect(snap.self).toBeUndefined();
    for (const c of snap.contacts.values()) expect(c).toMatchObject({ stale: true, availability: "unknown" });
  });

  it("keeps the error until the connection state is set again", () => {
    const store = new PresenceStore();
    store.setConnection("offline", "403 Rejected");
    store.setRegistered(false);
    store.setSelf(undefined);
    expect(store.getSnapshot().error).toBe("403 Rejected");
    store.setConnection("connecting");
    expect(store.getSnapshot().error).toBeUndefined();
  });
});
