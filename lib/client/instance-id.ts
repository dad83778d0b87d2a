/** The tab's device identity: one `+sip.instance` UUID per tab (RFC 5626 §4.1), kept in sessionStorage across reloads. */

export const INSTANCE_ID_STORAGE_KEY = "herald.sip.instance-id";

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function randomUuid(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === "function") return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The stored id, or a new one (stored when storage is available and writable). */
export function tabInstanceId(storage: KeyValueStorage | null | undefined = defaultStorage()): string {
  try {
    const existing = storage?.getItem(INSTANCE_ID_STORAGE_KEY);
    if (existing && UUID_RE.test(existing)) return existing.toLowerCase();
  } catch {
    // storage disabled (privacy mode): a fresh id per page load is the fallback
  }
  const id = randomUuid();
  try {
    storage?.setItem(INSTANCE_ID_STORAGE_KEY, id);
  } catch {
    // quota or privacy mode: keep the in-memory id
  }
  return id;
}

function defaultStorage(): KeyValueStorage | undefined {
  try {
    return (globalThis as { sessionStorage?: KeyValueStorage }).sessionStorage;
  } catch {
    return undefined;
  }
}
