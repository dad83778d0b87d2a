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
 * Typing: while the user types, `active` goes out at most every `composingRefreshS / 2` seconds
 * with refresh = `composingRefreshS`; `idle` when the text is sent or cleared. An incoming
 * `active` shows "typing" until `idle`, a message from that peer, or its refresh runs out (§4).
 */
import { CONTENT_TYPES } from "../presence/namespaces";
import { composeIsComposing, cpimContentType, cpimHeader, IS_COMPOSING_DEFAULT_IDLE_SECONDS, parseCpim, parseCpimAddress, parseIsComposing } from "../im";
import { realTimers, type ClientTimers, type TimerHandle } from "./timers";

export type ChatMessageState = "sending" | "sent" | "delivered" | "failed";

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
  timers?: ClientTimers;
  now?: () => number;
  /** Refresh announced in our typing notices, seconds. Default 30. */
  composingRefreshS?: number;
  /** Typing notices are skipped when false (the user's choice). Default true. */
  sendTyping?: boolean;
}

let seq = 0;

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

  dispose(): void {
    this.detach();
    for (const t of this.typingTimers.values()) this.timers.clearTimeout(t);
    this.typingTimers.clear();
  }

  /** Put history (oldest first) in front of what the conversation holds, without duplicates. */
  loadHistory(peer: string, history: ChatMessage[]): void {
    const c = this.conversation(peer);
    const known = new Set(c.messages.map((m) => `${m.direction}|${m.text}|${Math.floor(m.date / 1000)}`));
    const older = history.filter((m) => !known.has(`${m.direction}|${m.text}|${Math.floor(m.date / 1000)}`));
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
    this.update(peer, id, { state: "sending", failedStatus: undefined });
    return this.transmit(peer, m);
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
    try {
      status = (await this.o.transport.send(peer, m.text, CONTENT_TYPES.text)).status;
    } catch {
      status = 0;
    }
    const patch: Partial<ChatMessage> = status === 200 ? { state: "delivered" } : status >= 200 && status < 300 ? { state: "sent" } : { state: "failed", failedStatus: status };
    return this.update(peer, m.id, patch);
  }

  private receive(m: IncomingIm): void {
    const mime = m.contentType.split(";", 1)[0].trim().toLowerCase();
    let body = m.body;
    let type = mime;
    let from = m.from;
    let date = m.date;
    try {
      if (mime === CONTENT_TYPES.cpim) {
        const cpim = parseCpim(m.body);
        type = cpimContentType(cpim);
        body = cpim.body;
        from = parseCpimAddress(cpimHeader(cpim, "From") ?? "")?.uri.replace(/^im:/, "sip:") ?? from;
        const dt = Date.parse(cpimHeader(cpim, "DateTime") ?? "");
        if (Number.isFinite(dt)) date = dt;
      }
      if (type === CONTENT_TYPES.isComposing) {
        const ind = parseIsComposing(body);
        this.setTyping(from, ind.state === "active", ind.refresh ?? IS_COMPOSING_DEFAULT_IDLE_SECONDS);
        return;
      }
    } catch {
      return; // a body we cannot read: nothing to show
    }
    if (type !== CONTENT_TYPES.text) return; // notices (IMDN) are not shown
    const c = this.conversation(from);
    c.messages = [...c.messages, { id: `in-${++seq}`, direction: "in", text: body, date: date ?? this.now() }];
    if (!this.reading.has(from)) c.unread++;
    this.clearTyping(from, c);
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
