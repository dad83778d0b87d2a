/**
 * Where the embedded server keeps instant messages: one row per MESSAGE it accepted, serving as
 * the conversation history of both parties (`history`: text messages) and, while `pending`, as the
 * recipient's offline queue. Memory implementation for tests, Prisma for `herald start`.
 */
import type { Db } from "../../db";

export interface StoredMessage {
  id: number;
  /** AOR of the authenticated sender. */
  sender: string;
  /** AOR of the recipient. */
  recipient: string;
  contentType: string;
  body: string;
  /** The sender's Date (ms since the epoch). */
  date: number;
  pending: boolean;
  history: boolean;
  messageId?: string;
}

export type NewMessage = Omit<StoredMessage, "id">;

export interface MessageStore {
  add(m: NewMessage): Promise<StoredMessage>;
  /** Several rows in one write (history is written behind, batched). */
  addMany(rows: NewMessage[]): Promise<void>;
  countPending(recipient: string): Promise<number>;
  /** The recipient's pending messages, oldest first. */
  pendingFor(recipient: string, limit: number): Promise<StoredMessage[]>;
  /** No longer pending; a row that is no history (a queued notice) goes. */
  delivered(id: number): Promise<void>;
  /** Pending text messages dated before `before` (the next retention sweep ends their wait), oldest first. */
  expiringPending(before: number, limit: number): Promise<StoredMessage[]>;
  /** Is a message `messageId` from `sender` to `recipient` kept (history or queue)? */
  hasMessage(m: { sender: string; recipient: string; messageId: string }): Promise<boolean>;
  /** History rows between two AORs (either direction), newest first, ids below `before`. */
  conversation(a: string, b: string, options: { limit: number; before?: number }): Promise<StoredMessage[]>;
  /**
   * Retention: delivered history dated before `historyBefore` goes; pending messages dated before
   * `pendingBefore` stop being pending (and go unless they are history). Returns rows touched.
   */
  prune(cutoffs: { historyBefore: number; pendingBefore: number }): Promise<number>;
}

export class MemoryMessageStore implements MessageStore {
  readonly rows: StoredMessage[] = [];
  private seq = 0;

  async add(m: NewMessage): Promise<StoredMessage> {
    const row = { ...m, id: ++this.seq };
    this.rows.push(row);
    return { ...row };
  }

  async addMany(rows: NewMessage[]): Promise<void> {
    for (const m of rows) await this.add(m);
  }

  async countPending(recipient: string): Promise<number> {
    return this.rows.filter((r) => r.pending && r.recipient === recipient).length;
  }

  async pendingFor(recipient: string, limit: number): Promise<StoredMessage[]> {
    return this.rows.filter((r) => r.pending && r.recipient === recipient).slice(0, limit).map((r) => ({ ...r }));
  }

  async delivered(id: number): Promise<void> {
    const i = this.rows.findIndex((r) => r.id === id);
    if (i < 0) return;
    if (this.rows[i].history) this.rows[i].pending = false;
    else this.rows.splice(i, 1);
  }

  async expiringPending(before: number, limit: number): Promise<StoredMessage[]> {
    return this.rows.filter((r) => r.pending && r.history && r.date < before).slice(0, limit).map((r) => ({ ...r }));
  }

  async hasMessage(m: { sender: string; recipient: string; messageId: string }): Promise<boolean> {
    return this.rows.some((r) => r.sender === m.sender && r.recipient === m.recipient && r.messageId === m.messageId);
  }

  async conversation(a: string, b: string, options: { limit: number; before?: number }): Promise<StoredMessage[]> {
    return this.rows
      .filter((r) => r.history && ((r.sender === a && r.recipient === b) || (r.sender === b && r.recipient === a)) && (options.before === undefined || r.id < options.before))
      .sort((x, y) => y.id - x.id)
      .slice(0, options.limit)
      .map((r) => ({ ...r }));
  }

  async prune(c: { historyBefore: number; pendingBefore: number }): Promise<number> {
    let n = 0;
    for (let i = this.rows.length - 1; i >= 0; i--) {
      const r = this.rows[i];
      if (r.pending && r.date < c.pendingBefore) {
        n++;
        r.pending = false;
        if (!r.history) this.rows.splice(i, 1);
      } else if (!r.pending && r.date < c.historyBefore) {
        n++;
        this.rows.splice(i, 1);
      }
    }
    return n;
  }
}

type Row = { id: number; sender: string; recipient: string; contentType: string; body: string; date: Date; pending: boolean; history: boolean; messageId: string | null };

function fromRow(r: Row): StoredMessage {
  const m: StoredMessage = { id: r.id, sender: r.sender, recipient: r.recipient, contentType: r.contentType, body: r.body, date: r.date.getTime(), pending: r.pending, history: r.history };
  if (r.messageId !== null) m.messageId = r.messageId;
  return m;
}

export class PrismaMessageStore implements MessageStore {
  constructor(private readonly db: Db) {}

  async add(m: NewMessage): Promise<StoredMessage> {
    return fromRow(await this.db.instantMessage.create({ data: { ...m, date: new Date(m.date), messageId: m.messageId ?? null } }));
  }

  async addMany(rows: NewMessage[]): Promise<void> {
    if (rows.length) await this.db.instantMessage.createMany({ data: rows.map((m) => ({ ...m, date: new Date(m.date), messageId: m.messageId ?? null })) });
  }

  countPending(recipient: string): Promise<number> {
    return this.db.instantMessage.count({ where: { recipient, pending: true } });
  }

  async pendingFor(recipient: string, limit: number): Promise<StoredMessage[]> {
    return (await this.db.instantMessage.findMany({ where: { recipient, pending: true }, orderBy: { id: "asc" }, take: limit })).map(fromRow);
  }

  async delivered(id: number): Promise<void> {
    await this.db.instantMessage.deleteMany({ where: { id, history: false } });
    await this.db.instantMessage.updateMany({ where: { id }, data: { pending: false } });
  }

  async expiringPending(before: number, limit: number): Promise<StoredMessage[]> {
    return (await this.db.instantMessage.findMany({ where: { pending: true, history: true, date: { lt: new Date(before) } }, orderBy: { id: "asc" }, take: limit })).map(fromRow);
  }

  async hasMessage(m: { sender: string; recipient: string; messageId: string }): Promise<boolean> {
    return (await this.db.instantMessage.findFirst({ where: m, select: { id: true } })) !== null;
  }

  async conversation(a: string, b: string, options: { limit: number; before?: number }): Promise<StoredMessage[]> {
    const rows = await this.db.instantMessage.findMany({
      where: {
        history: true,
        OR: [{ sender: a, recipient: b }, { sender: b, recipient: a }],
        ...(options.before === undefined ? {} : { id: { lt: options.before } }),
      },
      orderBy: { id: "desc" },
      take: options.limit,
    });
    return rows.map(fromRow);
  }

  /**
   * `owner` has read the conversation with `peer` up to `at` (ms): the chat dock's unread counts
   * survive a reload. A marker only moves forward (two tabs marking at once).
   */
  async markRead(owner: string, peer: string, at: number): Promise<void> {
    const prev = await this.db.imReadMarker.findUnique({ where: { owner_peer: { owner, peer } } });
    if (prev && prev.readUntil.getTime() >= at) return;
    await this.db.imReadMarker.upsert({ where: { owner_peer: { owner, peer } }, create: { owner, peer, readUntil: new Date(at) }, update: { readUntil: new Date(at) } });
  }

  /**
   * Unread messages of `owner` per sender: delivered history rows to `owner` dated after the read
   * marker of that conversation and after `owner`'s own last message in it (answering is reading);
   * the newest `limit` incoming rows are looked at. Queued (pending) messages are not counted: they
   * reach the page on its registration and are counted there, so a page that adds what arrives
   * to these counts counts nothing twice.
   */
  async unreadCounts(owner: string, limit = 1000): Promise<Record<string, number>> {
    const [markers, replies, incoming] = await Promise.all([
      this.db.imReadMarker.findMany({ where: { owner } }),
      this.db.instantMessage.groupBy({ by: ["recipient"], where: { sender: owner, history: true }, _max: { date: true } }),
      this.db.instantMessage.findMany({ where: { recipient: owner, history: true, pending: false }, select: { sender: true, date: true }, orderBy: { id: "desc" }, take: limit }),
    ]);
    const since = new Map<string, number>();
    for (const m of markers) since.set(m.peer, m.readUntil.getTime());
    for (const r of replies) since.set(r.recipient, Math.max(since.get(r.recipient) ?? -Infinity, r._max.date?.getTime() ?? -Infinity));
    const out: Record<string, number> = {};
    for (const r of incoming) if (r.sender !== owner && r.date.getTime() > (since.get(r.sender) ?? -Infinity)) out[r.sender] = (out[r.sender] ?? 0) + 1;
    return out;
  }

  async prune(c: { historyBefore: number; pendingBefore: number }): Promise<number> {
    const [a, b, d] = await this.db.$transaction([
      this.db.instantMessage.deleteMany({ where: { pending: true, history: false, date: { lt: new Date(c.pendingBefore) } } }),
      this.db.instantMessage.updateMany({ where: { pending: true, date: { lt: new Date(c.pendingBefore) } }, data: { pending: false } }),
      this.db.instantMessage.deleteMany({ where: { pending: false, date: { lt: new Date(c.historyBefore) } } }),
    ]);
    return a.count + b.count + d.count;
  }
}
