/**
 * Storage interface of the XCAP server core, and an in-memory implementation for tests and
 * single-process use. Writes are compare-and-set on the document's ETag so that concurrent
 * writers never lose updates: the core reads, modifies, and writes back only if nobody wrote
 * in between (and retries otherwise).
 */
import type { XcapDocumentKey } from "../uri";

export interface StoredXcapDocument {
  /** The document text exactly as it will be served (UTF-8 when encoded). */
  content: string;
  /** Opaque entity tag, without quotes. */
  etag: string;
  /**
   * Set by a store that answered from a cache which another process's write may have outdated
   * (within the cache's bound). A write that fails against such a read (412, 404, 409) is tried
   * again on a fresh read before the failure is answered.
   */
  cached?: boolean;
}

export interface XcapGetOptions {
  /** Bypass any cache: read what is stored now. */
  fresh?: boolean;
}

export interface XcapDocumentListing {
  key: XcapDocumentKey;
  etag: string;
  /** Size in bytes of the UTF-8 content. */
  size: number;
  lastModified?: Date;
}

export interface XcapPutInput {
  content: string;
  etag: string;
  /**
   * Service URIs defined by this document (rls-services only; RFC 4826 §4.4.7 makes them unique
   * across all users). A store must refuse the write atomically when another document already
   * claims one of them, and must index them for `findServiceUriOwners`. Undefined for other
   * application usages.
   */
  serviceUris?: string[];
  /**
   * Those of `serviceUris` that another document claims although they are not its owner's (an
   * account's AOR, or derived from this document's owner): the store moves them to this document
   * instead of refusing the write.
   */
  reclaimServiceUris?: string[];
}

export interface XcapUsage {
  documents: number;
  bytes: number;
}

export type XcapPutResult =
  | { ok: true }
  /** The stored ETag is not `expectedEtag` (or the document exists / does not exist contrary to it). */
  | { ok: false; reason: "etag-mismatch" }
  /** Another document already claims one of `serviceUris`. */
  | { ok: false; reason: "service-uri-taken"; uris: string[] };

export interface XcapStore {
  /** The document, or null when it does not exist. */
  get(key: XcapDocumentKey, options?: XcapGetOptions): Promise<StoredXcapDocument | null>;
  /**
   * Compare-and-set write. `expectedEtag` null: create only (fails if the document exists);
   * a string: replace only if the stored ETag is exactly that.
   */
  put(key: XcapDocumentKey, doc: XcapPutInput, expectedEtag: string | null): Promise<XcapPutResult>;
  /**
   * `put` with its order fixed at the call: a write issued after this one (by this method) takes
   * effect after it even when it is issued before this one completes. Null when the store cannot
   * order this write (then the caller uses `put` and waits). The XCAP core lets the next writer of
   * a document start on the version being written as soon as the write is ordered.
   */
  orderedPut?(key: XcapDocumentKey, doc: XcapPutInput, expectedEtag: string): Promise<XcapPutResult> | null;
  /** Compare-and-set delete: true when deleted, false when the ETag no longer matches or it is gone. */
  delete(key: XcapDocumentKey, expectedEtag: string): Promise<boolean>;
  /** All documents in one user's tree (for xcap-directory), any order. */
  listUserDocuments(xui: string): Promise<XcapDocumentListing[]>;
  /** How many documents one user's tree holds and their total size (UTF-8 bytes), for quotas. */
  usage(xui: string): Promise<XcapUsage>;
  /** Which documents claim these rls-services service URIs (for the uniqueness check). */
  findServiceUriOwners(uris: string[]): Promise<Array<{ uri: string; key: XcapDocumentKey }>>;
}

function keyString(k: XcapDocumentKey): string {
  return JSON.stringify([k.auid, k.scope, k.xui, k.docPath]);
}

interface MemoryEntry {
  key: XcapDocumentKey;
  doc: StoredXcapDocument;
  size: number;
  lastModified: Date;
  serviceUris: string[];
}

/** In-memory XcapStore. Every method's check-and-set runs without an intervening await. */
export class MemoryXcapStore implements XcapStore {
  private readonly docs = new Map<string, MemoryEntry>();
  private readonly serviceOwners = new Map<string, string>();

  async get(key: XcapDocumentKey): Promise<StoredXcapDocument | null> {
    const e = this.docs.get(keyString(key));
    return e ? { ...e.doc } : null;
  }

  async put(key: XcapDocumentKey, doc: XcapPutInput, expectedEtag: string | null): Promise<XcapPutResult> {
    const ks = keyString(key);
    const cur = this.docs.get(ks);
    if (expectedEtag === null ? cur !== undefined : cur?.doc.etag !== expectedEtag) {
      return { ok: false, reason: "etag-mismatch" };
    }
    const uris = doc.serviceUris ?? [];
    const reclaim = new Set(doc.reclaimServiceUris ?? []);
    const taken = uris.filter((u) => {
      const owner = this.serviceOwners.get(u);
      return owner !== undefined && owner !== ks && !reclaim.has(u);
    });
    if (taken.length > 0) return { ok: false, reason: "service-uri-taken", uris: taken };
    for (const u of cur?.serviceUris ?? []) if (this.serviceOwners.get(u) === ks) this.serviceOwners.delete(u);
    for (const u of uris) this.serviceOwners.set(u, ks);
    this.docs.set(ks, {
      key: { ...key },
      doc: { content: doc.content, etag: doc.etag },
      size: new TextEncoder().encode(doc.content).byteLength,
      lastModified: new Date(),
      serviceUris: [...uris],
    });
    return { ok: true };
  }

  async delete(key: XcapDocumentKey, expectedEtag: string): Promise<boolean> {
    const ks = keyString(key);
    const cur = this.docs.get(ks);
    if (!cur || cur.doc.etag !== expectedEtag) return false;
    for (const u of cur.serviceUris) if (this.serviceOwners.get(u) === ks) this.serviceOwners.delete(u);
    this.docs.delete(ks);
    return true;
  }

  async listUserDocuments(xui: string): Promise<XcapDocumentListing[]> {
    const out: XcapDocumentListing[] = [];
    for (const e of this.docs.values()) {
      if (e.key.scope === "users" && e.key.xui === xui) {
        out.push({ key: { ...e.key }, etag: e.doc.etag, size: e.size, lastModified: e.lastModified });
      }
    }
    return out;
  }

  async usage(xui: string): Promise<XcapUsage> {
    let documents = 0;
    let bytes = 0;
    for (const e of this.docs.values()) {
      if (e.key.scope === "users" && e.key.xui === xui) {
        documents++;
        bytes += e.size;
      }
    }
    return { documents, bytes };
  }

  async findServiceUriOwners(uris: string[]): Promise<Array<{ uri: string; key: XcapDocumentKey }>> {
    const out: Array<{ uri: string; key: XcapDocumentKey }> = [];
    for (const u of uris) {
      const owner = this.serviceOwners.get(u);
      const e = owner ? this.docs.get(owner) : undefined;
      if (e) out.push({ uri: u, key: { ...e.key } });
    }
    return out;
  }

  /** Number of stored documents (tests). */
  get size(): number {
    return this.docs.size;
  }
}
