/**
 * XcapStore over Prisma (SQLite or PostgreSQL): one row per document with its ETag; writes are
 * compare-and-set on the ETag, and rls-services service URIs are claimed in the same transaction
 * (a primary key on the URI keeps two users from claiming one at the same time).
 */
import type { Db } from "../db";
import type {
  StoredXcapDocument,
  XcapDocumentKey,
  XcapDocumentListing,
  XcapPutInput,
  XcapPutResult,
  XcapStore,
} from "../xcap/server";

const where = (k: XcapDocumentKey) => ({ auid: k.auid, scope: k.scope, xui: k.xui ?? "", path: k.docPath });
const docId = (k: XcapDocumentKey) => JSON.stringify([k.auid, k.scope, k.xui ?? "", k.docPath]);

class Mismatch extends Error {}
class Taken extends Error {
  constructor(readonly uris: string[]) {
    super("service uri taken");
  }
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === "P2002" || /unique constraint/i.test(e?.message ?? "");
}

export class PrismaXcapStore implements XcapStore {
  constructor(private readonly db: Db) {}

  async get(key: XcapDocumentKey): Promise<StoredXcapDocument | null> {
    // one indexed lookup (the unique key), only the two columns served
    const row = await this.db.xcapDocument.findUnique({ where: { auid_scope_xui_path: where(key) }, select: { content: true, etag: true } });
    return row ? { content: row.content, etag: row.etag } : null;
  }

  async put(key: XcapDocumentKey, doc: XcapPutInput, expectedEtag: string | null): Promise<XcapPutResult> {
    try {
      await this.db.$transaction(async (tx) => {
        if (expectedEtag === null) {
          await tx.xcapDocument.create({ data: { ...where(key), content: doc.content, etag: doc.etag } });
        } else {
          const n = await tx.xcapDocument.updateMany({
            where: { ...where(key), etag: expectedEtag },
            data: { content: doc.content, etag: doc.etag },
          });
          if (n.count !== 1) throw new Mismatch();
        }
        if (doc.serviceUris !== undefined || key.auid === "rls-services") {
          const id = docId(key);
          const uris = [...new Set(doc.serviceUris ?? [])];
          const owners = uris.length ? await tx.rlsServiceUri.findMany({ where: { uri: { in: uris } } }) : [];
          const taken = owners.filter((o) => o.path !== id).map((o) => o.uri);
          if (taken.length) throw new Taken(taken);
          await tx.rlsServiceUri.deleteMany({ where: { path: id } });
          if (uris.length) {
            for (const uri of uris) await tx.rlsServiceUri.create({ data: { uri, xui: key.xui ?? "", path: id } });
          }
        }
      });
      return { ok: true };
    } catch (err) {
      if (err instanceof Mismatch) return { ok: false, reason: "etag-mismatch" };
      if (err instanceof Taken) return { ok: false, reason: "service-uri-taken", uris: err.uris };
      if (isUniqueViolation(err)) {
        // a concurrent create of the same document, or a concurrent claim of a service URI
        if (key.auid === "rls-services" && doc.serviceUris?.length) {
          const owners = await this.findServiceUriOwners(doc.serviceUris);
          const taken = owners.filter((o) => docId(o.key) !== docId(key)).map((o) => o.uri);
          if (taken.length) return { ok: false, reason: "service-uri-taken", uris: taken };
        }
        return { ok: false, reason: "etag-mismatch" };
      }
      throw err;
    }
  }

  async delete(key: XcapDocumentKey, expectedEtag: string): Promise<boolean> {
    return this.db.$transaction(async (tx) => {
      const n = await tx.xcapDocument.deleteMany({ where: { ...where(key), etag: expectedEtag } });
      if (n.count !== 1) return false;
      await tx.rlsServiceUri.deleteMany({ where: { path: docId(key) } });
      return true;
    });
  }

  async listUserDocuments(xui: string): Promise<XcapDocumentListing[]> {
    const rows = await this.db.xcapDocument.findMany({ where: { scope: "users", xui } });
    return rows.map((r) => ({
      key: { auid: r.auid, scope: "users" as const, xui: r.xui, docPath: r.path },
      etag: r.etag,
      size: Buffer.byteLength(r.content),
      lastModified: r.updatedAt,
    }));
  }

  async findServiceUriOwners(uris: string[]): Promise<Array<{ uri: string; key: XcapDocumentKey }>> {
    if (!uris.length) return [];
    const rows = await this.db.rlsServiceUri.findMany({ where: { uri: { in: uris } } });
    return rows.map((r) => {
      const [auid, scope, xui, docPath] = JSON.parse(r.path) as [string, "users" | "global", string, string];
      return { uri: r.uri, key: { auid, scope, xui: xui || null, docPath } };
    });
  }
}
