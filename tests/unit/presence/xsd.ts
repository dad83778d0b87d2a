/**
 * Reusable XSD validation for tests: runs libxml2's xmllint (WebAssembly, `xmllint-wasm`)
 * against the shared schemas in ../shared/schemas.
 *
 * The schema files import one another by relative `schemaLocation` (pidf/caps/rlmi/... import
 * xml.xsd; data-model.xsd and rpid.xsd include the chameleon common-schema.xsd; pres-rules.xsd
 * and dialog-rules.xsd import common-policy.xsd; rlsservices.xsd imports resourcelists.xsd;
 * xcapdiff.xsd includes patchops.xsd). xmllint validates against ONE schema document, so we
 * build a small wrapper schema in memory that `xs:import`s every namespace we know and
 * preload all the .xsd files into the in-memory file system. With every namespace imported,
 * the `xs:any processContents="lax"` extension points (PIDF tuple/person/device children,
 * common-policy conditions/actions/transformations...) are validated against their real
 * declarations instead of being skipped.
 *
 * Usage:
 *   const r = await validateXml(xmlText);          // { valid, errors, rawOutput }
 *   await expectValidXml(xmlText);                 // throws with the xmllint messages
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { validateXML } from "xmllint-wasm";

/** Directory of the shared schemas (override with HERALD_SCHEMA_DIR). */
export const SCHEMA_DIR =
  process.env.HERALD_SCHEMA_DIR ?? fileURLToPath(new URL("../../../../shared/schemas/", import.meta.url));

/** Namespace → schema file, for every namespace the wrapper imports. */
export const SCHEMA_FILES: Readonly<Record<string, string>> = {
  "urn:ietf:params:xml:ns:pidf": "pidf.xsd",
  "urn:ietf:params:xml:ns:pidf:data-model": "data-model.xsd",
  "urn:ietf:params:xml:ns:pidf:rpid": "rpid.xsd",
  "urn:ietf:params:xml:ns:pidf:cipid": "cipid.xsd",
  "urn:ietf:params:xml:ns:pidf:caps": "caps.xsd",
  "urn:ietf:params:xml:ns:watcherinfo": "watcherinfo.xsd",
  "urn:ietf:params:xml:ns:rlmi": "rlmi.xsd",
  "urn:ietf:params:xml:ns:common-policy": "common-policy.xsd",
  "urn:ietf:params:xml:ns:pres-rules": "pres-rules.xsd",
  "urn:oma:xml:xdm:common-policy": "oma-common-policy.xsd",
  "urn:oma:xml:prs:pres-content": "oma-pres-content.xsd",
  "urn:ietf:params:xml:ns:resource-lists": "resourcelists.xsd",
  "urn:ietf:params:xml:ns:rls-services": "rlsservices.xsd",
  "urn:ietf:params:xml:ns:xcap-caps": "xcap-caps.xsd",
  "urn:oma:xml:xdm:xcap-directory": "xcap-directory.xsd",
  "urn:ietf:params:xml:ns:xcap-diff": "xcapdiff.xsd",
  "urn:ietf:params:xml:ns:dialog-info": "dialog-info.xsd",
  "urn:ag-projects:xml:ns:dialog-rules": "dialog-rules.xsd",
  "urn:ag-projects:xml:ns:addressbook": "addressbook.xsd",
  "urn:ietf:params:xml:ns:imdn": "imdn.xsd",
  "urn:ietf:params:xml:ns:im-iscomposing": "im-iscomposing.xsd",
  "urn:ietf:params:xml:ns:conference-info": "conference.xsd",
};

const WRAPPER_NAME = "herald-all.xsd";

let preloadCache: { fileName: string; contents: string }[] | undefined;

function preload(): { fileName: string; contents: string }[] {
  if (!preloadCache) {
    preloadCache = readdirSync(SCHEMA_DIR)
      .filter((f) => f.endsWith(".xsd"))
      .map((f) => ({ fileName: f, contents: readFileSync(SCHEMA_DIR + (SCHEMA_DIR.endsWith("/") ? "" : "/") + f, "utf8") }));
  }
  return preloadCache;
}

function wrapper(namespaces: readonly string[]): string {
  const imports = namespaces
    .map((ns) => `  <xs:import namespace="${ns}" schemaLocation="${SCHEMA_FILES[ns]}"/>`)
    .join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
${imports}
</xs:schema>
`;
}

export interface XsdResult {
  valid: boolean;
  errors: string[];
  rawOutput: string;
}

/**
 * Validate an XML document against the shared schemas. `namespaces` limits the imported
 * namespaces (default: all of SCHEMA_FILES).
 */
export async function validateXml(
  xml: string | Uint8Array,
  namespaces: readonly string[] = Object.keys(SCHEMA_FILES),
): Promise<XsdResult> {
  for (const ns of namespaces) if (!SCHEMA_FILES[ns]) throw new Error(`no schema known for namespace ${ns}`);
  const result = await validateXML({
    xml: [{ fileName: "document.xml", contents: xml }],
    schema: [{ fileName: WRAPPER_NAME, contents: wrapper(namespaces) }],
    preload: preload(),
  });
  return { valid: result.valid, errors: result.errors.map((e) => e.rawMessage), rawOutput: result.rawOutput };
}

/** Throw (with xmllint's messages and the document) unless the document is schema-valid. */
export async function expectValidXml(xml: string | Uint8Array, namespaces?: readonly string[]): Promise<void> {
  const r = await validateXml(xml, namespaces);
  if (!r.valid) {
    const text = typeof xml === "string" ? xml : new TextDecoder().decode(xml);
    throw new Error(`XSD validation failed:\n${r.errors.join("\n") || r.rawOutput}\n--- document ---\n${text}`);
  }
}
