/**
 * XSD validation of generated XCAP documents with xmllint (WASM) against ../shared/schemas.
 * addressbook.xsd declares only types, so a test-only wrapper declares the global elements
 * group / contact / policy-element in its namespace: lax wildcards in resource-lists then
 * validate Blink's address-book items strictly instead of skipping them.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { validateXML, type XMLFileInfo } from "xmllint-wasm";

const SCHEMA_DIR = "/work/shared/schemas";

let preload: XMLFileInfo[] | undefined;
function schemas(): XMLFileInfo[] {
  preload ??= readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith(".xsd"))
    .map((f) => ({ fileName: f, contents: readFileSync(join(SCHEMA_DIR, f), "utf8") }));
  return preload;
}

const AB_ELEMENTS = `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema targetNamespace="urn:ag-projects:xml:ns:addressbook" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns="urn:ag-projects:xml:ns:addressbook" elementFormDefault="qualified">
  <xs:include schemaLocation="addressbook.xsd"/>
  <xs:element name="group" type="Group"/>
  <xs:element name="contact" type="Contact"/>
  <xs:element name="policy-element" type="Policy"/>
</xs:schema>`;

const WRAPPERS = {
  "resource-lists": `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="urn:ietf:params:xml:ns:resource-lists" schemaLocation="resourcelists.xsd"/>
  <xs:import namespace="urn:ag-projects:xml:ns:addressbook" schemaLocation="ab-elements.xsd"/>
</xs:schema>`,
  "rls-services": `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="urn:ietf:params:xml:ns:rls-services" schemaLocation="rlsservices.xsd"/>
</xs:schema>`,
  "pres-rules": `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="urn:ietf:params:xml:ns:common-policy" schemaLocation="common-policy.xsd"/>
  <xs:import namespace="urn:ietf:params:xml:ns:pres-rules" schemaLocation="pres-rules.xsd"/>
  <xs:import namespace="urn:oma:xml:xdm:common-policy" schemaLocation="oma-common-policy.xsd"/>
</xs:schema>`,
} as const;

export type SchemaKind = keyof typeof WRAPPERS;

/** Validate; resolves to the list of error messages (empty when valid). */
export async function xsdErrors(xml: string, kind: SchemaKind): Promise<string[]> {
  const result = await validateXML({
    xml: { fileName: "document.xml", contents: xml },
    schema: { fileName: `wrapper-${kind}.xsd`, contents: WRAPPERS[kind] },
    preload: [...schemas(), { fileName: "ab-elements.xsd", contents: AB_ELEMENTS }],
  });
  return result.valid ? [] : result.errors.map((e) => e.rawMessage);
}
