/** The portal's input schema for an address a person typed (contacts, allow / block, accept a watcher). */
import { z } from "zod";
import { AorError, parseAor } from "../sip/aor";

/**
 * A contact's address through the one AOR parser, with a full domain name required:
 * `bob@Example.com` → `sip:bob@example.com`; `sipbob@x` is refused with the parser's message.
 */
export const sipAddressInput = z.string().transform((v, ctx) => {
  try {
    return parseAor(v, { fullDomain: true }).aor;
  } catch (e) {
    if (!(e instanceof AorError)) throw e;
    ctx.addIssue({ code: "custom", message: e.message });
    return z.NEVER;
  }
});
