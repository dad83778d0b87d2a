/**
 * V8 settings for a long-running Herald server process.
 *
 * Allocation-site pretenuring is off. V8 decides, per allocation site, to allocate objects directly
 * in the old generation once most of them survive young-generation collections. Herald's XML
 * parser builds both long-lived trees (cached pres-rules, stored documents) and short-lived ones
 * (every XCAP PUT body, every PUBLISH) at the same sites: after a load that kept trees (many held
 * subscriptions, a fan-out) the sites were pretenured, every later PUT's tree went straight to the
 * old generation, scavenges slowed to 15–27 ms (old-to-young pointers) and full collections came
 * every second. Measured with `npm run bench -- deployed --only=setup,fanout,xcap --no-kamailio`:
 * XCAP PUT 294/s with pretenuring, 961/s without; the same load without the earlier phases, 956/s.
 */
import { setFlagsFromString } from "node:v8";

let applied = false;

export function applyServerV8Flags(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString("--no-allocation-site-pretenuring");
}
