/** resource-lists application usage (RFC 4826 §3). */
import { XML_NAMESPACE, type XmlElementView } from "../../../xml";
import { XcapConflict, constraintError, schemaError } from "../../errors";
import type { ApplicationUsage } from "../application-usage";
import { checkAttributes, checkContent, expectRoot, isAnyUri, isAbsoluteUri, isHttpUri, textOnly } from "../validation";
import { AUID, CONTENT_TYPES, NS } from "../../../presence/namespaces";

function checkDisplayName(el: XmlElementView): void {
  textOnly(el);
  checkAttributes(el, []);
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes[i]!;
    if (a.namespaceURI && a.namespaceURI !== XML_NAMESPACE && !a.name.startsWith("xmlns")) {
      throw schemaError("display-name allows only xml:lang");
    }
  }
}

function uniqueness(field: string, value: string): XcapConflict {
  return new XcapConflict("uniqueness-failure", `duplicate value "${value}"`, { exists: [{ field, altValues: [] }] });
}

/**
 * Validate a list (RFC 4826 §3.3 listType, §3.4.5 constraints): list names unique among
 * siblings, entry uri / external anchor / entry-ref ref unique within the list. Nested lists are
 * walked with an explicit stack, never by recursion on the input's depth.
 */
export function validateListType(top: XmlElementView, topPath: string): void {
  const pending: NestedList[] = [{ list: top, path: topPath }];
  for (let item = pending.pop(); item; item = pending.pop()) {
    const nested = validateOneList(item.list, item.path);
    // in document order: the first nested list is validated next
    for (let i = nested.length - 1; i >= 0; i--) pending.push(nested[i]!);
  }
}

interface NestedList {
  list: XmlElementView;
  path: string;
}

/** One list's own content; returns its nested lists. */
function validateOneList(list: XmlElementView, path: string): NestedList[] {
  const nested: NestedList[] = [];
  checkAttributes(list, ["name"]);
  const kids = checkContent(
    list,
    NS.resourceLists,
    { "display-name": "D", list: "L", external: "X", entry: "E", "entry-ref": "R" },
    /^D?[LXER]*O*$/,
  );
  const names = new Set<string>();
  const uris = new Set<string>();
  const anchors = new Set<string>();
  const refs = new Set<string>();
  for (const k of kids) {
    if (k.namespaceURI !== NS.resourceLists) continue;
    switch (k.localName) {
      case "display-name":
        checkDisplayName(k);
        break;
      case "list": {
        const name = k.getAttribute("name");
        if (name !== null) {
          if (names.has(name)) throw uniqueness(`${path}/list/@name`, name);
          names.add(name);
        }
        nested.push({ list: k, path: name !== null ? `${path}/list[@name="${name}"]` : `${path}/list` });
        break;
      }
      case "entry": {
        checkAttributes(k, ["uri"], ["uri"]);
        const uri = k.getAttribute("uri")!;
        if (!isAnyUri(uri)) throw schemaError(`entry uri "${uri}" is not a URI`);
        if (uris.has(uri)) throw uniqueness(`${path}/entry/@uri`, uri);
        uris.add(uri);
        for (const c of checkContent(k, NS.resourceLists, { "display-name": "D" }, /^D?O*$/)) {
          if (c.namespaceURI === NS.resourceLists) checkDisplayName(c);
        }
        break;
      }
      case "external": {
        checkAttributes(k, ["anchor"]);
        const anchor = k.getAttribute("anchor");
        if (anchor !== null) {
          // §3.4.5: the anchor is an absolute HTTP URI pointing at a list
          if (!isHttpUri(anchor)) throw constraintError(`external anchor "${anchor}" is not an absolute HTTP URI`);
          if (anchors.has(anchor)) throw uniqueness(`${path}/external/@anchor`, anchor);
          anchors.add(anchor);
        }
        for (const c of checkContent(k, NS.resourceLists, { "display-name": "D" }, /^D?O*$/)) {
          if (c.namespaceURI === NS.resourceLists) checkDisplayName(c);
        }
        break;
      }
      case "entry-ref": {
        checkAttributes(k, ["ref"], ["ref"]);
        const ref = k.getAttribute("ref")!;
        // §3.4.5: a relative reference to an entry below the XCAP root
        if (isAbsoluteUri(ref) || ref.startsWith("/") || !isAnyUri(ref)) {
          throw constraintError(`entry-ref "${ref}" must be a relative path below the XCAP root`);
        }
        if (refs.has(ref)) throw uniqueness(`${path}/entry-ref/@ref`, ref);
        refs.add(ref);
        for (const c of checkContent(k, NS.resourceLists, { "display-name": "D" }, /^D?O*$/)) {
          if (c.namespaceURI === NS.resourceLists) checkDisplayName(c);
        }
        break;
      }
    }
  }
  return nested;
}

export const resourceListsApplication: ApplicationUsage = {
  auid: AUID.resourceLists,
  defaultNamespace: NS.resourceLists,
  mimeType: CONTENT_TYPES.resourceLists,
  namespaces: [NS.resourceLists],
  scopes: ["users"],
  validate(doc) {
    const root = expectRoot(doc, NS.resourceLists, "resource-lists");
    checkAttributes(root, []);
    const lists = checkContent(root, NS.resourceLists, { list: "L" }, /^L*$/);
    const names = new Set<string>();
    for (const l of lists) {
      const name = l.getAttribute("name");
      if (name !== null) {
        if (names.has(name)) throw uniqueness("resource-lists/list/@name", name);
        names.add(name);
      }
      validateListType(l, name !== null ? `resource-lists/list[@name="${name}"]` : "resource-lists/list");
    }
  },
};
