/**
 * Process-wide objects kept on globalThis: code inside the Next.js bundle and the custom server
 * (lib/cli) load separate copies of the same module, so a module-level object (configuration,
 * database client, limiter, emitter…) would be two. `key` names the object on globalThis.
 * The one way to make such a singleton.
 */

const slots = globalThis as Record<string, unknown>;

/** The process's one object under `key`, created by `create` the first time. */
export function processWide<T>(key: string, create: () => T): T {
  if (!(key in slots)) slots[key] = create();
  return slots[key] as T;
}

/** Install the process's object under `key` (start-up installs its configuration, tests their database). */
export function setProcessWide<T>(key: string, value: T): void {
  slots[key] = value;
}
