/**
 * The portal's virtual presentities (lib/accounts/virtual-presentities.ts): their documents are
 * written through the embedded XCAP root in-process (validated, cached, and announced to the
 * embedded SIP server like every XCAP write) — also when XCAP_SERVER_URL points elsewhere, since
 * only Herald's own presence server serves virtual presentities.
 */
import { config } from "../config";
import { db } from "../db";
import { XcapClient, XcapClientError } from "../xcap/client";
import { AccountError } from "../accounts/service";
import { createVirtualPresentities, presentityRemovals, type PresentityDocuments, type VirtualPresentities } from "../accounts/virtual-presentities";
import { publicXcapRootOf } from "./public-xcap-root";
import { xcapHttp } from "./xcap";

/** The documents of a presentity's XCAP tree through an in-process XCAP root (`handleAs`). */
export function xcapPresentityDocuments(opts: { root: string; handleAs: (req: Request, address: string) => Promise<Response> }): PresentityDocuments {
  const client = (address: string) => new XcapClient({ root: opts.root, xui: `sip:${address}`, fetch: (url, init) => opts.handleAs(new Request(url, init), address) });
  return {
    get: async (address, auid) => (await client(address).getDocument(auid, "index"))?.xml ?? null,
    put: async (address, auid, xml) => {
      try {
        await client(address).putDocument(auid, "index", xml);
      } catch (err) {
        // RFC 4825 §11: a document the application usage refuses (schema, ids, depth)
        if (err instanceof XcapClientError && (err.status === 409 || err.status === 413)) {
          throw new AccountError("malformed-document", `the document was refused: ${err.condition?.phrase ?? err.condition?.name ?? err.message}`);
        }
        throw err;
      }
    },
    remove: async (address, auid) => {
      await client(address).deleteDocument(auid, "index");
    },
  };
}

/**
 * The service, made for each use: it holds no state of its own (the XCAP root and the removals
 * bus are process-wide), and one shared on globalThis would throw the error classes of whichever
 * bundle layer made it first — a console action would then not recognise an API route's
 * AccountError, and the other way round.
 */
export function virtualPresentities(): VirtualPresentities {
  const c = config();
  return createVirtualPresentities({
    db: db(),
    documents: xcapPresentityDocuments({ root: publicXcapRootOf({ ...c, XCAP_SERVER_URL: undefined }), handleAs: (req, address) => xcapHttp().handleAs(req, address) }),
    onDeleted: (address) => presentityRemovals().emit(address),
    maxPresentities: c.VIRTUAL_PRESENTITIES_MAX,
    noteMaxChars: c.NOTE_MAX_CHARS,
  });
}
