/**
 * Parsed-DOM cache of the XCAP server core. Parsing a 20 KB document with @xmldom/xmldom costs
 * milliseconds; a node-selector GET or an element PUT touches a few elements of it. The cache maps
 * a document key to the DOM parsed from one exact text, bounded (LRU by entries and by text size).
 *
 * Safety rules:
 * - An entry is only served for the very text it was parsed from: `lookup` compares the stored
 *   content (and ETag) with the entry's, so a write by another process, another server instance or
 *   a direct store call can never make it serve a stale tree.
 * - A cached DOM is shared and must not be mutated while it is in the cache. A writer that wants
 *   to modify it calls `take`, which removes the entry first (readers then parse their own copy);
 *   after a successful store write it `set`s the modified tree under the new text and ETag. A
 *   failed write simply never puts it back.
 * - Readers use a tree synchronously (no await between lookup and the last use).
 */
import type { XmlDocument } from "../../xml";
import type { XcapDocumentKey } from "../uri";
import type { StoredXcapDocument } from "./store";

export interface XcapDocumentCacheOptions {
  /** Maximum number of cached documents. Default 128. */
  maxEntries?: number;
  /**
   * Maximum total size of the cached documents' text (UTF-16 code units). Default 1 Mi: an xmldom
   * tree takes about 30 times its text in heap, so about 30 MB at most.
   */
  maxChars?: number;
}

interface Entry {
  content: string;
  etag: string;
  doc: XmlDocument;
}

export function documentCacheKey(key: XcapDocumentKey): string {
  return `${key.auid}\u0000${key.scope}\u0000${key.xui ?? ""}\u0000${key.docPath}`;
}

export class XcapDocumentCache {
  private readonly entries = new Map<string, Entry>();
  private chars = 0;
  private readonly maxEntries: number;
  private readonly maxChars: number;
  /** Counters (tests, diagnostics). */
  readonly stats = { hits: 0, misses: 0, evictions: 0 };

  constructor(options: XcapDocumentCacheOptions = {}) {
    this.maxEntries = Math.max(0, options.maxEntries ?? 128);
    this.maxChars = Math.max(0, options.maxChars ?? 1024 * 1024);
  }

  /** The cached tree of exactly `stored`, or undefined. Do not mutate it (use `take`). */
  lookup(key: XcapDocumentKey, stored: StoredXcapDocument): XmlDocument | undefined {
    const k = documentCacheKey(key);
    const e = this.entries.get(k);
    if (!e || e.etag !== stored.etag || e.content !== stored.content) {
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    // refresh recency
    this.entries.delete(k);
    this.entries.set(k, e);
    return e.doc;
  }

  /** The tree parsed from `stored`, from the cache or by `parse` (then cached). Do not mutate it. */
  get(key: XcapDocumentKey, stored: StoredXcapDocument, parse: (content: string) => XmlDocument): XmlDocument {
    const hit = this.lookup(key, stored);
    if (hit) return hit;
    const doc = parse(stored.content);
    this.set(key, stored, doc);
    return doc;
  }

  /**
   * Remove and return the cached tree of exactly `stored`, for the caller to modify; undefined when
   * it is not cached. Whatever happens next, the cache no longer holds it.
   */
  take(key: XcapDocumentKey, stored: StoredXcapDocument): XmlDocument | undefined {
    const doc = this.lookup(key, stored);
    this.delete(key);
    return doc;
  }

  /** Forget whatever is cached for `key`, if it is exactly `doc` (or unconditionally without `doc`). */
  delete(key: XcapDocumentKey, doc?: XmlDocument): void {
    const k = documentCacheKey(key);
    const e = this.entries.get(k);
    if (!e || (doc && e.doc !== doc)) return;
    this.entries.delete(k);
    this.chars -= e.content.length;
  }

  /** Cache `doc` as the tree of `stored` (the caller hands it over and must not modify it any more). */
  set(key: XcapDocumentKey, stored: StoredXcapDocument, doc: XmlDocument): void {
    this.delete(key);
    if (stored.content.length > this.maxChars || this.maxEntries === 0) return;
    this.entries.set(documentCacheKey(key), { content: stored.content, etag: stored.etag, doc });
    this.chars += stored.content.length;
    while (this.entries.size > this.maxEntries || this.chars > this.maxChars) {
      const oldest = this.entries.keys().next().value as string;
      const e = this.entries.get(oldest)!;
      this.entries.delete(oldest);
      this.chars -= e.content.length;
      this.stats.evictions++;
    }
  }

  clear(): void {
    this.entries.clear();
    this.chars = 0;
  }

  get size(): number {
    return this.entries.size;
  }
}
