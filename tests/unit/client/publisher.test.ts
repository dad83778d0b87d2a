import { describe, expect, it } from "vitest";
import { Publisher, refreshDelayMs, SipClientError, type PublishRequest, type PublishResponse, type PublishTransport } from "@/lib/client";
import { FakeClock } from "./fixtures";

/** Records requests; answers from a script (or 200 with a fresh ETag). */
class ScriptedTransport implements PublishTransport {
  readonly requests: PublishRequest[] = [];
  readonly script: (PublishResponse | Error)[] = [];
  private n = 0;
  async send(request: PublishRequest): Promise<PublishResponse> {
    this.requests.push(request);
    const next = this.script.shift();
    if (next instanceof Error) throw next;
    return next ?? { status: 200, etag: `etag-${++this.n}`, expires: request.expires };
  }
}

function setup(opts: { expires?: number } = {}) {
  const clock = new FakeClock();
  const transport = new ScriptedTransport();
  const states: string[] = [];
  const publisher = new Publisher({
    transport,
    target: "sip:alice@example.test",
    expires: opts.expires ?? 600,
    timers: clock,
    random: () => 0,
    onChange: (s) => states.push(s.state),
  });
  return { clock, transport, publisher, states };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("Publisher (RFC 3903)", () => {
  it("initial PUBLISH carries the body and no SIP-If-Match; the ETag is kept", async () => {
    const { transport, publisher, states } = setup();
    await publisher.publish("<pidf-1/>");
    expect(transport.requests[0]).toEqual({
      target: "sip:alice@example.test",
      event: "presence",
      expires: 600,
      body: "<pidf-1/>",
      contentType: "application/pidf+xml",
    });
    expect(publisher.snapshot()).toMatchObject({ state: "published", etag: "etag-1", expires: 600 });
    expect(states).toEqual(["publishing", "published"]);
  });

  it("modify sends the new body with SIP-If-Match and takes the new ETag", async () => {
    const { transport, publisher } = setup();
    await publisher.publish("<a/>");
    await publisher.publish("<b/>");
    expect(transport.requests[1]).toMatchObject({ etag: "etag-1", body: "<b/>", expires: 600 });
    expect(publisher.snapshot().etag).toBe("etag-2");
  });

  it("refreshes before expiry without a body, with SIP-If-Match, honouring the granted Expires", async () => {
    const { clock, transport, publisher } = setup();
    transport.script.push({ status: 200, etag: "e1", expires: 300 });
    await publisher.publish("<a/>");
    expect(clock.pending).toEqual([refreshDelayMs(300)]);
    expect(refreshDelayMs(300)).toBe(210_000); // 90 s before expiry
    expect(refreshDelayMs(60)).toBe(30_000); // half-way for short expiries
    clock.advance(refreshDelayMs(300) - 1);
    expect(transport.requests).toHaveLength(1);
    clock.advance(1);
    await flush();
    expect(transport.requests[1]).toEqual({ target: "sip:alice@example.test", event: "presence", expires: 600, etag: "e1" });
    expect(transport.requests[1].body).toBeUndefined();
    expect(publisher.snapshot()).toMatchObject({ state: "published", etag: "etag-1" });
  });

  it("412 on a refresh: fresh initial PUBLISH with the current body", async () => {
    const { clock, transport, publisher } = setup();
    await publisher.publish("<a/>");
    transport.script.push({ status: 412, reason: "Conditional Request Failed" });
    clock.advance(refreshDelayMs(600));
    await flush();
    await flush();
    expect(transport.requests.map((r) => [r.etag ?? null, r.body ?? null])).toEqual([
      [null, "<a/>"],
      ["etag-1", null],
      [null, "<a/>"],
    ]);
    expect(publisher.snapshot()).toMatchObject({ state: "published", etag: "etag-2" });
  });

  it("412 on a modify: initial PUBLISH with the new body", async () => {
    const { transport, publisher } = setup();
    await publisher.publish("<a/>");
    transport.script.push({ status: 412 });
    await publisher.publish("<b/>");
    expect(transport.requests.slice(1).map((r) => [r.etag ?? null, r.body])).toEqual([
      ["etag-1", "<b/>"],
      [null, "<b/>"],
    ]);
  });

  it("423: retries with Min-Expires and keeps asking for it", async () => {
    const { transport, publisher } = setup({ expires: 60 });
    transport.script.push({ status: 423, minExpires: 900 });
    await publisher.publish("<a/>");
    expect(transport.requests.map((r) => r.expires)).toEqual([60, 900]);
    expect(publisher.snapshot()).toMatchObject({ state: "published", expires: 900 });
    await publisher.publish("<b/>");
    expect(transport.requests[2].expires).toBe(900);
  });

  it("remove sends Expires: 0 with SIP-If-Match and no body", async () => {
    const { transport, publisher } = setup();
    await publisher.publish("<a/>");
    await publisher.remove();
    expect(transport.requests[1]).toEqual({ target: "sip:alice@example.test", event: "presence", expires: 0, etag: "etag-1" });
    expect(publisher.snapshot()).toEqual({ state: "removed" });
  });

  it("remove without a publication sends nothing", async () => {
    const { transport, publisher } = setup();
    await publisher.remove();
    expect(transport.requests).toHaveLength(0);
    expect(publisher.snapshot().state).toBe("removed");
  });

  it("sends the removal synchronously (pagehide must not wait for a microtask)", async () => {
    const { transport, publisher } = setup();
    await publisher.publish("<a/>");
    const p = publisher.remove();
    expect(transport.requests).toHaveLength(2);
    await p;
  });

  it("coalesces bodies while a request is in flight: only the newest is sent next", async () => {
    const { transport, publisher } = setup();
    const p1 = publisher.publish("<a/>");
    void publisher.publish("<b/>");
    const p3 = publisher.publish("<c/>");
    await p1;
    await p3;
    expect(transport.requests.map((r) => r.body)).toEqual(["<a/>", "<c/>"]);
  });

  it("transport failure: failed, then retried with backoff; 403 is not retried", async () => {
    const { clock, transport, publisher } = setup();
    transport.script.push(new SipClientError(0, "not connected", "transport"));
    await publisher.publish("<a/>");
    expect(publisher.snapshot()).toMatchObject({ state: "failed", error: { status: 0 } });
    expect(clock.pending).toEqual([2000]);
    transport.script.push({ status: 503 });
    clock.advance(2000);
    await flush();
    expect(clock.pending).toEqual([4000]);
    clock.advance(4000);
    await flush();
    expect(publisher.snapshot()).toMatchObject({ state: "published" });
    expect(transport.requests).toHaveLength(3);

    const other = setup();
    other.transport.script.push({ status: 403, reason: "Forbidden" });
    await other.publisher.publish("<a/>");
    expect(other.publisher.snapshot()).toMatchObject({ state: "failed", error: { status: 403, message: "403 Forbidden" } });
    expect(other.clock.pending).toEqual([]);
  });

  it("republish after a reconnect modifies with the held ETag", async () => {
    const { transport, publisher } = setup();
    await publisher.publish("<a/>");
    await publisher.republish();
    expect(transport.requests[1]).toMatchObject({ etag: "etag-1", body: "<a/>" });
  });
});
