/**
 * The process-wide bus of portal sign-ins: the login (inside the Next.js bundle) emits the
 * account's address, the embedded presence server (loaded by the custom server) listens and
 * warms the user's buddy list before the page subscribes to it. Kept on globalThis because the
 * two load separate copies of this module (as lib/portal/xcap-events.ts).
 */
import { EventEmitter } from "node:events";

/** `address`: the account's `user@domain`. */
export type SignInListener = (address: string) => void;

export interface SignInEventBus {
  emit(address: string): void;
  subscribe(listener: SignInListener): () => void;
}

export function signInEvents(): SignInEventBus {
  const g = globalThis as { __heraldSignInEvents?: SignInEventBus };
  if (!g.__heraldSignInEvents) {
    const ee = new EventEmitter();
    ee.setMaxListeners(0);
    g.__heraldSignInEvents = {
      emit: (address) => {
        // a listener's failure is its own: the sign-in goes on
        for (const l of ee.listeners("signin") as SignInListener[]) {
          try {
            l(address);
          } catch {
            /* listeners log their own errors */
          }
        }
      },
      subscribe: (l) => {
        ee.on("signin", l);
        return () => ee.off("signin", l);
      },
    };
  }
  return g.__heraldSignInEvents;
}
