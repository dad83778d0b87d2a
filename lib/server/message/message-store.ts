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
  countPending(recipient: string): Promise<number>;
  /** The recipient's pending messages, oldest first. */
  pendingFor(recipient: string, limit: number): Promise<StoredMessage[]>;
  /** No longer pending; a row that is no history (a queued notice) goes. */
  delivered(id: number): Promise<void>;
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

  async prune(c: { historyBefore: number; pendingBefore: number }): Promise<number> {
    const [a, b, d] = await this.db.$transaction([
      this.db.instantMessage.deleteMany({ where: { pending: true, history: false, date: { lt: new Date(c.pendingBefore) } } }),
      this.db.instantMessage.updateMany({ where: { pending: true, date: { lt: new Date(c.pendingBefore) } }, data: { pending: false } }),
      this.db.instantMessage.deleteMany({ where: { pending: false, date: { lt: new Date(c.historyBefore) } } }),
    ]);
    return a.count + b.count + d.count;
  }
}
