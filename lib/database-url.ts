/** DATABASE_URL: `file:<path>` selects SQLite, `postgresql://…` (or `postgres://…`) PostgreSQL. */
import path from "node:path";

export type DatabaseTarget = { provider: "sqlite"; file: string } | { provider: "postgresql"; url: string };

export function parseDatabaseUrl(url: string, cwd = process.cwd()): DatabaseTarget {
  if (url.startsWith("file:")) {
    const file = url.slice("file:".length).replace(/^\/\/(?=\/)/, "");
    if (!file) throw new Error("a file: URL needs a path, e.g. file:./data/herald.db");
    if (file === ":memory:") return { provider: "sqlite", file };
    return { provider: "sqlite", file: path.resolve(cwd, file) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new Error("not a valid postgresql:// URL");
    }
    if (!u.hostname || u.pathname.length < 2) throw new Error("a postgresql:// URL needs a host and a database name");
    return { provider: "postgresql", url };
  }
  throw new Error("must start with file: (SQLite) or postgresql:// (PostgreSQL)");
}
