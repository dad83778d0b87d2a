/**
 * OMA xcap-directory (`org.openmobilealliance.xcap-directory`): generated per user, one folder
 * per application usage listing the user's documents with their ETags. Read-only.
 */
import { escapeXml } from "../../../xml";
import { buildXcapUri } from "../../uri";
import type { ApplicationUsage } from "../application-usage";
import { NS, AUID, CONTENT_TYPES } from "../../../presence/namespaces";

export const XCAP_DIRECTORY_DOCUMENT = "directory.xml";

export const xcapDirectoryApplication: ApplicationUsage = {
  auid: AUID.xcapDirectory,
  defaultNamespace: NS.xcapDirectory,
  mimeType: CONTENT_TYPES.xcapDirectory,
  namespaces: [NS.xcapDirectory],
  scopes: ["users"],
  async generate(ctx) {
    if (ctx.key.docPath !== XCAP_DIRECTORY_DOCUMENT || !ctx.key.xui) return null;
    const docs = await ctx.store.listUserDocuments(ctx.key.xui);
    const stored = ctx.applications.filter((a) => !a.generate && a.scopes.includes("users"));
    let out = `<?xml version="1.0" encoding="UTF-8"?>\n<xcap-directory xmlns="${NS.xcapDirectory}">\n`;
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
