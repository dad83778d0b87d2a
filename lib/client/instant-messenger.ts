/**
 * The page's instant messages (RFC 3428 MESSAGE through Herald): conversations per peer as one
 * observable value (`subscribe` + `getSnapshot`, for useSyncExternalStore), sending with a state
 * per message, typing notices both ways (RFC 3994), unread counts.
 *
 * Outcomes of a sent message (the server's final response):
 * | response | state | meaning |
 * | 200 | delivered | a device of the peer accepted it |
 * | 202 | sent | stored by the server, delivered when the peer registers (RFC 3428 §7) |
 * | other, or no answer | failed | `retry(id)` sends it again |
 *
 * Delivery notifications (IMDN, RFC 5438): with `self` set, a message goes as message/cpim with an
 * `imdn.Message-ID` and `Disposition-Notification: positive-delivery, negative-delivery` (§6).
 * A `delivered` notification from the peer turns `sending`/`sent` into `delivered` (a stored
 * message reports its delivery when the peer signs in); `failed`, `forbidden` or `error` turn it
 * into `failed` (retry sends it again under a new Message-ID). Receiving a message that asks for
 * positive delivery, the messenger answers with a `delivered` notification (§7.2.1.1). A peer
 * that refuses message/cpim (415: baresip) gets the text again as text/plain at once, and only
 * text/plain for the rest of the page's life.
 *
 * Copies (issue 17): a message/cpim whose CPIM From is `self` and To another user is what another
 * device of ours sent (the server copies it here): it joins that conversation as outgoing, read.
 *
 * Typing: while the user types, `active` goes out at most every `composingRefreshS / 2` seconds
 * with refresh = `composingRefreshS`; `idle` when the text is sent or cleared. An incoming
 * `active` shows "typing" until `idle`, a message from that peer, or its refresh runs out (§4).
 */
import { CONTENT_TYPES, NS } from "../presence/namespaces";
import {
  composeIsComposing,
  cpimAor,
  cpimContentType,
  cpimHeader,
  createCpim,
  imdnCpim,
  imdnRequestOf,
  IS_COMPOSING_DEFAULT_IDLE_SECONDS,
  parseCpim,
  parseCpimAddress,
  parseImdn,
  parseIsComposing,
  serializeCpim,
  type CpimMessage,
} from "../im";
import { realTimers, type ClientTimers, type TimerHandle } from "./timers";

/** `elsewhere`: sent by another device of ours (a copy); its outcome is known there. */
export type ChatMessageState = "sending" | "sent" | "delivered" | "failed" | "elsewhere";

export interface ChatMessage {
  /** Local id (outgoing) or server/history id. */
  id: string;
  direction: "in" | "out";
  text: string;
  /** ms since the epoch (the sender's Date for incoming ones). */
  date: number;
  state?: ChatMessageState;
  /** Status of a failed send (0 = no answer). */
  failedStatus?: number;
  /** The IMDN status that reported the failure (`failed`, `forbidden`, `error`), RFC 5438 §7.2.1. */
  failedNotice?: string;
  /** imdn.Message-ID (RFC 5438 §6.3): what a notification names, and what history is matched by. */
  messageId?: string;
}

export interface Conversation {
  peer: string;
  messages: ChatMessage[];
  typing: boolean;
  unread: number;
}

export interface MessengerSnapshot {
  conversations: Readonly<Record<string, Conversation>>;
  totalUnread: number;
}

export interface IncomingIm {
  from: string;
  contentType: string;
  body: string;
  date?: number;
}

/** How messages leave and arrive (JsSIP in the page, a fake in tests). */
export interface MessageTransport {
  send(target: string, body: string, contentType: string): Promise<{ status: number }>;
  onMessage(listener: (m: IncomingIm) => void): () => void;
}

export interface InstantMessengerOptions {
  transport: MessageTransport;
  /** Our own AOR: messages go as CPIM asking for delivery notifications, copies are recognised. Without it, plain text. */
  self?: string;
  /** Random Message-IDs (tests). Default: 16 random bytes, hex. */
  newMessageId?: () => string;
  timers?: ClientTimers;
  now?: () => number;
  /** Refresh announced in our typing notices, seconds. Default 30. */
  composingRefreshS?: number;
  /** Typing notices are skipped when false (the user's choice). Default true. */
  sendTyping?: boolean;
}

let seq = 0;

/** A notification's status → the message's state (RFC 5438 §7.2.1 delivery statuses). */
const NOTICE_STATE: Record<string, ChatMessageState> = { delivered: "delivered", failed: "failed", forbidden: "failed", error: "failed" };

function randomMessageId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class InstantMessenger {
  private readonly o: InstantMessengerOptions;
  private readonly timers: ClientTimers;
  private readonly now: () => number;
  private readonly conversations = new Map<string, Conversation>();
  private readonly listeners = new Set<() => void>();
  private readonly typingTimers = new Map<string, TimerHandle>();
  private readonly lastActiveSent = new Map<string, number>();
  /** Peers whose window is open and focused: their messages are read at once. */
  private readonly reading = new Set<string>();
  private snapshot: MessengerSnapshot = { conversations: {}, totalUnread: 0 };
  private readonly detach: () => void;
  private readonly incoming = new Set<(peer: string, m: ChatMessage) => void>();
  /** Peers that answered message/cpim with 415: plain text only. */
  private readonly plainOnly = new Set<string>();

  constructor(options: InstantMessengerOptions) {
    this.o = options;
    this.timers = options.timers ?? realTimers;
    this.now = options.now ?? Date.now;
    this.detach = options.transport.onMessage((m) => this.receive(m));
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): MessengerSnapshot => this.snapshot;

  /** Told of every text message from a peer as it arrives (desktop notifications). */
  onIncoming(listener: (peer: string, m: ChatMessage) => void): () => void {
    this.incoming.add(listener);
    return () => this.incoming.delete(listener);
  }

  /**
   * Unread counts kept by the server (a reload): a conversation shows at least `counts[peer]`
   * (messages that arrived since the page loaded may be among them, so it is not added).
   */
  setUnreadCounts(counts: Readonly<Record<string, number>>): void {
    let changed = false;
    for (const [peer, n] of Object.entries(counts)) {
      if (this.reading.has(peer)) continue;
      const c = this.conversation(peer);
      if (n > c.unread) {
        c.unread = n;
        changed = true;
      }
    }
    if (changed) this.changed();
  }

  dispose(): void {
    this.detach();
    for (const t of this.typingTimers.values()) this.timers.clearTimeout(t);
    this.typingTimers.clear();
  }

  /** Put history (oldest first) in front of what the conversation holds, without duplicates. */
  loadHistory(peer: string, history: ChatMessage[]): void {
    const c = this.conversation(peer);
    // by Message-ID where both know it, else by direction, text and second
    const loose = (m: ChatMessage) => `${m.direction}|${m.text}|${Math.floor(m.date / 1000)}`;
    const known = new Set(c.messages.flatMap((m) => (m.messageId ? [m.messageId, loose(m)] : [loose(m)])));
    const older = history.filter((m) => !(m.messageId !== undefined && known.has(m.messageId)) && !known.has(loose(m)));
    c.messages = [...older, ...c.messages].sort((a, b) => a.date - b.date);
    this.changed();
  }

  /** The user is (or stops) looking at `peer`'s window: its unread count goes to 0 while so. */
  setReading(peer: string, reading: boolean): void {
    if (reading) this.reading.add(peer);
    else this.reading.delete(peer);
    const c = this.conversations.get(peer);
    if (reading && c && c.unread > 0) {
      c.unread = 0;
      this.changed();
    }
  }

  send(peer: string, text: string): Promise<ChatMessage> {
    const c = this.conversation(peer);
    const m: ChatMessage = { id: `local-${++seq}`, direction: "out", text, date: this.now(), state: "sending" };
    c.messages = [...c.messages, m];
    this.lastActiveSent.delete(peer); // a message ends composing (RFC 3994 §3)
    this.changed();
    return this.transmit(peer, m);
  }

  retry(peer: string, id: string): Promise<ChatMessage> | undefined {
    const m = this.conversations.get(peer)?.messages.find((x) => x.id === id && x.state === "failed");
    if (!m) return undefined;
    const again = this.update(peer, id, { state: "sending", failedStatus: undefined, failedNotice: undefined, messageId: undefined });
    return this.transmit(peer, again);
  }

  /** The user typed in `peer`'s window (`active`) or cleared it (`idle`). */
  composing(peer: string, state: "active" | "idle"): void {
    if (this.o.sendTyping === false) return;
    const refresh = this.o.composingRefreshS ?? 30;
    const last = this.lastActiveSent.get(peer);
    if (state === "active") {
      if (last !== undefined && this.now() - last < (refresh * 1000) / 2) return;
      this.lastActiveSent.set(peer, this.now());
    } else {
      if (last === undefined) return;
      this.lastActiveSent.delete(peer);
    }
    void this.o.transport.send(peer, composeIsComposing(state === "active" ? { state, refresh, contentType: CONTENT_TYPES.text } : { state }), CONTENT_TYPES.isComposing).catch(() => {});
  }

  private async transmit(peer: string, m: ChatMessage): Promise<ChatMessage> {
    let status = 0;
    let body = m.text;
    let type: string = CONTENT_TYPES.text;
    if (this.o.self && !this.plainOnly.has(peer)) {
      // a new Message-ID per attempt (RFC 5438 §6.3: a retransmission by the user is a new message)
      const messageId = (this.o.newMessageId ?? randomMessageId)();
      m = this.update(peer, m.id, { messageId });
      body = serializeCpim(
        createCpim({
          from: { uri: this.o.self },
          to: { uri: peer },
          dateTime: new Date(m.date),
          extraHeaders: [
            { name: "NS", value: `imdn <${NS.imdnHeaders}>` },
            { name: "imdn.Message-ID", value: messageId },
            { name: "imdn.Disposition-Notification", value: "positive-delivery, negative-delivery" },
          ],
          contentType: `${CONTENT_TYPES.text};charset=utf-8`,
          body: m.text,
        }),
      );
      type = CONTENT_TYPES.cpim;
    }
    try {
      status = (await this.o.transport.send(peer, body, type)).status;
      if (status === 415 && type === CONTENT_TYPES.cpim) {
        this.plainOnly.add(peer);
        m = this.update(peer, m.id, { messageId: undefined });
        status = (await this.o.transport.send(peer, m.text, CONTENT_TYPES.text)).status;
      }
    } catch {
      status = 0;
    }
    const now = this.conversations.get(peer)?.messages.find((x) => x.id === m.id);
    // a notification may have come before the final response (it went through the server first)
    if (now?.state === "delivered" || (now?.state === "failed" && now.failedNotice)) return now;
    const patch: Partial<ChatMessage> = status === 200 ? { state: "delivered" } : status >= 200 && status < 300 ? { state: "sent" } : { state: "failed", failedStatus: status };
    return this.update(peer, m.id, patch);
  }

  /** A delivery notification about one of our messages (RFC 5438 §7.2.1). */
  private notified(cpim: CpimMessage): void {
    const n = parseImdn(cpim.body);
    const state = n.kind === "delivery" ? NOTICE_STATE[n.status] : undefined;
    if (!state) return; // display/processing notifications change nothing shown here
    for (const c of this.conversations.values()) {
      const m = c.messages.find((x) => x.direction === "out" && x.messageId === n.messageId);
      if (!m || m.state === "delivered") continue;
      this.update(c.peer, m.id, state === "failed" ? { state, failedNotice: n.status, failedStatus: undefined } : { state });
      return;
    }
  }

  /** Answer a message that asked for positive delivery notification (RFC 5438 §7.2.1.1). */
  private acknowledge(cpim: CpimMessage, sender: string): void {
    const request = imdnRequestOf(cpim);
    if (!this.o.self || !request?.dispositions.includes("positive-delivery")) return;
    const notice = imdnCpim({
      from: this.o.self,
      to: sender,
      notificationId: (this.o.newMessageId ?? randomMessageId)(),
      notification: { messageId: request.messageId, dateTime: cpimHeader(cpim, "DateTime") ?? new Date(this.now()).toISOString(), recipientUri: this.o.self, kind: "delivery", status: "delivered" },
    });
    void this.o.transport.send(sender, serializeCpim(notice), CONTENT_TYPES.cpim).catch(() => {});
  }

  private receive(m: IncomingIm): void {
    const mime = m.contentType.split(";", 1)[0].trim().toLowerCase();
    let body = m.body;
    let type = mime;
    let from = m.from;
    let date = m.date;
    let cpim: CpimMessage | undefined;
    let messageId: string | undefined;
    try {
      if (mime === CONTENT_TYPES.cpim) {
        cpim = parseCpim(m.body);
        type = cpimContentType(cpim);
        body = cpim.body;
        from = parseCpimAddress(cpimHeader(cpim, "From") ?? "")?.uri.replace(/^im:/, "sip:") ?? from;
        const dt = Date.parse(cpimHeader(cpim, "DateTime") ?? "");
        if (Number.isFinite(dt)) date = dt;
        messageId = cpimHeader(cpim, "Message-ID", NS.imdnHeaders);
        if (type === CONTENT_TYPES.imdn) return this.notified(cpim);
        const to = parseCpimAddress(cpimHeader(cpim, "To") ?? "")?.uri.replace(/^im:/, "sip:");
        if (this.o.self && cpimAor(from) === cpimAor(this.o.self) && to && cpimAor(to) !== cpimAor(this.o.self)) {
          if (type === CONTENT_TYPES.text) this.copied(cpimAor(to), { text: body, date: date ?? this.now(), messageId });
          return;
        }
      }
      if (type === CONTENT_TYPES.isComposing) {
        const ind = parseIsComposing(body);
        this.setTyping(from, ind.state === "active", ind.refresh ?? IS_COMPOSING_DEFAULT_IDLE_SECONDS);
        return;
      }
    } catch {
      return; // a body we cannot read: nothing to show
    }
    if (type !== CONTENT_TYPES.text) return;
    const c = this.conversation(from);
    if (messageId !== undefined && c.messages.some((x) => x.direction === "in" && x.messageId === messageId)) return; // seen (a stored copy sent again)
    const message: ChatMessage = { id: `in-${++seq}`, direction: "in", text: body, date: date ?? this.now() };
    if (messageId !== undefined) message.messageId = messageId;
    c.messages = [...c.messages, message];
    if (!this.reading.has(from)) c.unread++;
    this.clearTyping(from, c);
    this.changed();
    if (cpim) this.acknowledge(cpim, from);
    for (const l of [...this.incoming]) l(from, message);
  }

  /** What another device of ours sent to `peer` (a copy from the server): outgoing, already handled there. */
  private copied(peer: string, m: { text: string; date: number; messageId?: string }): void {
    const c = this.conversation(peer);
    if (m.messageId !== undefined && c.messages.some((x) => x.messageId === m.messageId)) return;
    const message: ChatMessage = { id: `copy-${++seq}`, direction: "out", text: m.text, date: m.date, state: "elsewhere" };
    if (m.messageId !== undefined) message.messageId = m.messageId;
    c.messages = [...c.messages, message];
    this.changed();
  }

  private setTyping(peer: string, typing: boolean, refreshS: number): void {
    const c = this.conversation(peer);
    this.clearTyping(peer, c);
    if (typing) {
      c.typing = true;
      this.typingTimers.set(
        peer,
        this.timers.setTimeout(() => {
          this.clearTyping(peer, c);
          this.changed();
        }, refreshS * 1000),
      );
    }
    this.changed();
  }

  private clearTyping(peer: string, c: Conversation): void {
    c.typing = false;
    const t = this.typingTimers.get(peer);
    if (t !== undefined) this.timers.clearTimeout(t);
    this.typingTimers.delete(peer);
  }

  private update(peer: string, id: string, patch: Partial<ChatMessage>): ChatMessage {
    const c = this.conversation(peer);
    let out: ChatMessage | undefined;
    c.messages = c.messages.map((x) => (x.id === id ? (out = { ...x, ...patch }) : x));
    this.changed();
    return out as ChatMessage;
  }

  private conversation(peer: string): Conversation {
    let c = this.conversations.get(peer);
    if (!c) this.conversations.set(peer, (c = { peer, messages: [], typing: false, unread: 0 }));
    return c;
  }

  private changed(): void {
    const conversations: Record<string, Conversation> = {};
    let total = 0;
    for (const [k, c] of this.conversations) {
      conversations[k] = { ...c };
      total += c.unread;
    }
    this.snapshot = { conversations, totalUnread: total };
    for (const l of [...this.listeners]) l();
  }
}
