/** Reading the audit log (the console's view): newest first, filtered, one page at a time. */
import type { Db } from "../db";

export interface AuditFilter {
  /** Exact actor (`cli`, `admin:<address>`, `token:<name>`) or its start, e.g. `token:`. */
  actor?: string;
  /** Exact action or a prefix ending in `.`: `account.` matches every account action. */
  action?: string;
  /** Part of the target (an address, a domain, `token:<name>`). */
  target?: string;
  page?: number;
  pageSize?: number;
}

export interface AuditEntry {
  id: number;
  at: Date;
  actor: string | null;
  action: string;
  target: string | null;
  detail: string | null;
  ip: string | null;
}

export async function searchAudit(db: Db, f: AuditFilter = {}): Promise<{ items: AuditEntry[]; page: number; pageSize: number; total: number }> {
  const pageSize = Math.min(200, Math.max(1, Math.floor(f.pageSize ?? 50)));
  const page = Math.max(1, Math.floor(f.page ?? 1));
  const actor = f.actor?.trim();
  const action = f.action?.trim();
  const target = f.target?.trim();
  const where = {
    ...(actor ? { actor: actor.endsWith(":") ? { startsWith: actor } : actor } : {}),
    ...(action ? { action: action.endsWith(".") ? { startsWith: action } : action } : {}),
    ...(target ? { target: { contains: target } } : {}),
  };
  const [total, items] = await Promise.all([
    db.auditEvent.count({ where }),
    db.auditEvent.findMany({ where, orderBy: { id: "desc" }, skip: (page - 1) * pageSize, take: pageSize }),
  ]);
  return { items, page, pageSize, total };
}

/** The actions the log holds (for the filter's choices). */
export async function auditActions(db: Db): Promise<string[]> {
  return (await db.auditEvent.groupBy({ by: ["action"], orderBy: { action: "asc" } })).map((r) => r.action);
}
