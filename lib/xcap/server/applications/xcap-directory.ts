/**
 * OMA xcap-directory (`org.openmobilealliance.xcap-directory`): generated per user, one folder
 * per application usage listing the user's documents with their ETags. Read-only.
 */
import { escapeXml } from "../../../xml";
import { buildXcapUri } from "../../uri";
import type { ApplicationUsage } from "../application-usage";

export const XCAP_DIRECTORY_NS = "urn:oma:xml:xdm:xcap-directory";
export const XCAP_DIRECTORY_AUID = "org.openmobilealliance.xcap-directory";
export const XCAP_DIRECTORY_DOCUMENT = "directory.xml";

export const xcapDirectoryApplication: ApplicationUsage = {
  auid: XCAP_DIRECTORY_AUID,
  defaultNamespace: XCAP_DIRECTORY_NS,
  mimeType: "application/vnd.oma.xcap-directory+xml",
  namespaces: [XCAP_DIRECTORY_NS],
  scopes: ["users"],
  async generate(ctx) {
    if (ctx.key.docPath !== XCAP_DIRECTORY_DOCUMENT || !ctx.key.xui) return null;
    const docs = await ctx.store.listUserDocuments(ctx.key.xui);
    const stored = ctx.applications.filter((a) => !a.generate && a.scopes.includes("users"));
    let out = `<?xml version="1.0" encoding="UTF-8"?>\n<xcap-directory xmlns="${XCAP_DIRECTORY_NS}">\n`;
    for (const app of stored) {
      const mine = docs.filter((d) => d.key.auid === app.auid).sort((a, b) => (a.key.docPath < b.key.docPath ? -1 : 1));
      out += `  <folder auid="${escapeXml(app.auid)}">\n`;
      for (const d of mine) {
        out +=
          `    <entry uri="${escapeXml(buildXcapUri(ctx.rootUri, d.key))}" etag="${escapeXml(d.etag)}"` +
          (d.lastModified ? ` last-modified="${d.lastModified.toISOString()}"` : "") +
          ` size="${d.size}"/>\n`;
      }
      out += `  </folder>\n`;
    }
    return out + `</xcap-directory>\n`;
  },
};
