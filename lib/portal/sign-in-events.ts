/**
 * The process-wide bus of portal sign-ins: the login (inside the Next.js bundle) emits the
 * account's `user@domain`, the embedded presence server (loaded by the custom server) listens and
 * warms the user's buddy list before the page subscribes to it.
 */
import { processBus, type ProcessBus } from "../process-wide";

export type SignInEventBus = ProcessBus<string>;

export function signInEvents(): SignInEventBus {
  return processBus<string>("__heraldSignInEvents");
}
