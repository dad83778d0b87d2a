/** xcap-caps (RFC 4825 §12): the global, read-only capabilities document, generated from the registered usages. */
import { escapeXml } from "../../../xml";
import type { ApplicationUsage } from "../application-usage";
import { AUID, CONTENT_TYPES, NS } from "../../../presence/namespaces";

export const xcapCapsApplication: ApplicationUsage = {
  auid: AUID.xcapCaps,
  defaultNamespace: NS.xcapCaps,
  mimeType: CONTENT_TYPES.xcapCaps,
  namespaces: [NS.xcapCaps],
  scopes: ["global"],
  async generate(ctx) {
    if (ctx.key.docPath !== "index") return null;
    const auids = ctx.applications.map((a) => a.auid);
    const namespaces = [...new Set(ctx.applications.flatMap((a) => a.namespaces))];
    return (
      `<?xml version="1.0" encoding="UTF-8"?>\n<xcap-caps xmlns="${NS.xcapCaps}">\n  <auids>\n` +
      auids.map((a) => `    <auid>${escapeXml(a)}</auid>\n`).join("") +
      `  </auids>\n  <extensions/>\n  <namespaces>\n` +
      namespaces.map((n) => `    <namespace>${escapeXml(n)}</namespace>\n`).join("") +
      `  </namespaces>\n</xcap-caps>\n`
    );
  },
};
