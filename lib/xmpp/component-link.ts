/**
 * The gateway's connection to the XMPP server: an external component (XEP-0114) through
 * @xmpp/component (handshake `sha1(streamId + secret)`), with Nagle off on our side (Prosody needs
 * `network_settings = { nagle = false }` on its side) — back-to-back stanzas otherwise stall 40 ms.
 *
 * Reconnects by itself with exponential back-off (`minDelayMs` doubling to `maxDelayMs`) after a
 * refused connection, a failed handshake or a dropped stream (an XMPP server restart); the
 * gateway re-sends its state on every `online`. Stanzas sent while offline are dropped.
 */
import { EventEmitter } from "node:events";
import { Socket } from "node:net";
import { component, type Component } from "@xmpp/component";
import { componentLogger, realTimers, type SipLogger, type TimerApi } from "../sip";
import type { XmppLink } from "./gateway";
import { readPresence, type PresenceStanza } from "./presence-stanza";

export interface ComponentLinkOptions {
  /** `tcp://host:port` of the component port (XMPP_COMPONENT_URL). */
  url: string;
  domain: string;
  secret: string;
  /** First reconnect delay, ms (default 250); doubles per failure up to `maxDelayMs` (default 30 000). */
  minDelayMs?: number;
  maxDelayMs?: number;
  timers?: TimerApi;
  logger?: SipLogger;
}

export class ComponentLink extends EventEmitter implements XmppLink {
  private readonly o: ComponentLinkOptions;
  private readonly log: SipLogger;
  private readonly timers: TimerApi;
  private xmpp?: Component;
  private isOnline = false;
  private stopped = false;
  private delay: number;
  private timer?: unknown;
  /** Stanzas written and read (benchmark). */
  readonly stats = { sent: 0, received: 0 };

  constructor(options: ComponentLinkOptions) {
    super();
    this.o = options;
    this.timers = options.timers ?? realTimers;
    this.delay = options.minDelayMs ?? 250;
    this.log = componentLogger("xmpp:component", options.logger);
  }

  get online(): boolean {
    return this.isOnline;
  }

  /** Start connecting (resolves at once; `online` follows when the handshake succeeds). */
  start(): void {
    this.connect();
  }

  send(stanza: string): void {
    const x = this.xmpp;
    if (!x || !this.isOnline) return;
    this.stats.sent++;
    x.write(stanza).catch((e: unknown) => this.log("debug", "write failed", { error: String(e) }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    const x = this.xmpp;
    this.xmpp = undefined;
    this.isOnline = false;
    if (x) await x.stop().catch(() => undefined);
  }

  private connect(): void {
    if (this.stopped) return;
    const service = this.o.url.replace(/^tcp:/i, "xmpp:");
    const x = component({ service, domain: this.o.domain, password: this.o.secret });
    x.reconnect.stop(); // our own back-off instead of its fixed 1 s
    // every socket it opens: Nagle off, and an error listener of its own — @xmpp/connection detaches
    // its listeners when a stream goes down and may still write to the ended socket ("write after
    // end"), which must never become an uncaught error
    const log = this.log;
    x.Socket = class extends Socket {
      constructor() {
        super();
        this.setNoDelay(true);
        this.on("error", (e) => log("debug", "socket error", { error: e.message }));
      }
    };
    this.xmpp = x;
    let failed = false;
    const fail = (why: string) => {
      if (failed || this.xmpp !== x) return;
      failed = true;
      const wasOnline = this.isOnline;
      this.isOnline = false;
      this.xmpp = undefined;
      x.removeAllListeners();
      x.on("error", () => {});
      void x.disconnect(100).catch(() => undefined);
      if (this.stopped) return;
      if (wasOnline) this.delay = this.o.minDelayMs ?? 250;
      this.log(wasOnline ? "warn" : "info", "XMPP component connection lost, reconnecting", { reason: why, inMs: this.delay });
      this.timer = this.timers.setTimeout(() => {
        this.timer = undefined;
        this.connect();
      }, this.delay);
      this.delay = Math.min(this.delay * 2, this.o.maxDelayMs ?? 30_000);
      if (wasOnline) this.emit("offline");
    };
    x.on("error", (e) => fail(e.message));
    x.on("disconnect", () => fail("disconnected"));
    x.on("online", () => {
      this.isOnline = true;
      this.delay = this.o.minDelayMs ?? 250;
      this.emit("online");
    });
    x.on("stanza", (el) => {
      this.stats.received++;
      const p = readPresence(el);
      if (p) this.emit("presence", p satisfies PresenceStanza);
    });
    // connect and open ourselves rather than `start()`: its pending "online" promise rejects unhandled
    // when the stream fails before the handshake (the component's own "open" listener shakes hands)
    x.connect(service)
      .then(() => x.open({ domain: this.o.domain }))
      .catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
  }
}
