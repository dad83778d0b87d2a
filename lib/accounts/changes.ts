/**
 * Process-wide generation number of account and domain data. Every write in lib/accounts/service
 * bumps it; caches derived from accounts (digest credentials) drop their entries when it moved.
 * A counter instead of listeners: caches need no subscription (nothing to unsubscribe or leak),
 * and it lives on globalThis because the Next.js bundle and the custom server load separate copies
 * of this module. Writes by another process (the CLI) do not bump it: those caches bound their
 * staleness with a TTL.
 */
import { processWide } from "../process-wide";

const generation = () => processWide("__heraldAccountsGeneration", () => ({ value: 0 }));

/** The current generation (changes whenever an account or domain was written in this process). */
export function accountsGeneration(): number {
  return generation().value;
}

/** Announce that account or domain data changed (password, disabled, role, added, removed). */
export function accountsChanged(): void {
  generation().value++;
}
