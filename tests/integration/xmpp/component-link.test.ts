/**
 * ComponentLink (XEP-0114 over @xmpp/component): exponential back-off while the XMPP server is
 * unreachable, the handshake against a loopback component server, Nagle off, reset after success.
 */
import { createHash } from "node:crypto";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { TimerApi } from "@/lib/sip";
import { ComponentLink } from "@/lib/xmpp/component-link";
import { freePort } from "../../helpers/ports";
import { waitFor } from "../../helpers/wait";

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** Real timers that run at once, recording the delays asked for. */
function recordingTimers(delays: number[]): TimerApi {
  return {
    setTimeout: (fn: () => void, ms: number) => {
      delays.push(ms);
      return setTimeout(fn, 0);
    },
    clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
  } as TimerApi;
}

/** A loopback XEP-0114 server accepting `secret`; returns the sockets it accepted. */
async function componentServer(port: number, secret: string) {
  const sockets: net.Socket[] = [];
  const server = net.createServer((sock) => {
    sockets.push(sock);
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString();
      if (buf.includes("<stream:stream") && !buf.includes("\u0000h")) {
        buf += "\u0000h";
        sock.write(`<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='abc' from='example.test'>`);
      }
      const m = /<handshake>([0-9a-f]+)<\/handshake>/.exec(buf);
      if (m && !buf.includes("\u0000ok")) {
        buf += "\u0000ok";
        if (m[1] === createHash("sha1").update("abc" + secret).digest("hex")) sock.write("<handshake/>");
        else sock.end("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
      }
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  return {
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe("ComponentLink", () => {
  it("backs off 250 ms doubling while the server is down, connects with the shared secret, and starts again from 250 ms after a drop", async () => {
    const port = await freePort();
    const delays: number[] = [];
    const link = new ComponentLink({ url: `tcp://127.0.0.1:${port}`, domain: "example.test", secret: "s3cret", timers: recordingTimers(delays), maxDelayMs: 2000 });
    cleanup.push(() => link.stop());
    let onlines = 0;
    link.on("online", () => onlines++);
    link.start();
    await waitFor(() => delays.length >= 5, { what: "five refused attempts" });
    expect(delays.slice(0, 5)).toEqual([250, 500, 1000, 2000, 2000]);
    const srv = await componentServer(port, "s3cret");
    cleanup.push(() => srv.close());
    await waitFor(() => link.online, { what: "online" });
    expect(onlines).toBe(1);
    // the XMPP server restarts: the link notices, and its first retry waits the minimum again
    const before = delays.length;
    for (const s of srv.sockets) s.destroy();
    await waitFor(() => delays.length > before, { what: "a retry after the drop" });
    expect(delays[before]).toBe(250);
    await waitFor(() => onlines === 2, { what: "online again" });
  });

  it("a wrong secret is not online, and keeps retrying with back-off", async () => {
    const port = await freePort();
    const srv = await componentServer(port, "right-secret");
    cleanup.push(() => srv.close());
    const delays: number[] = [];
    const link = new ComponentLink({ url: `tcp://127.0.0.1:${port}`, domain: "example.test", secret: "wrong", timers: recordingTimers(delays) });
    cleanup.push(() => link.stop());
    link.start();
    await waitFor(() => delays.length >= 2, { what: "two failed handshakes" });
    expect(link.online).toBe(false);
    expect(delays.slice(0, 2)).toEqual([250, 500]);
  });
});
