/**
 * A faithful XML serializer for XCAP: it writes the DOM as it is, without adding namespace
 * declarations the document did not have (RFC 4825 §8.1.2: an element is returned as it
 * appears in the document; bindings in scope are fetched with `namespace::*`). Unknown
 * elements, attributes and namespace declarations survive unchanged.
 */
import type { XmlNode } from "../xml";

const TEXT_SPECIAL = /[&<>\r]/;
const ATT_SPECIAL = /[&<"\t\n\r]/;

function escText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  return s.replace(/[&<>\r]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&#13;"));
}

/** Escape an attribute value for use between double quotes. */
export function escapeAttValue(s: string): string {
  if (!ATT_SPECIAL.test(s)) return s;
  return s.replace(/[&<"\t\n\r]/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === '"' ? "&quot;" : c === "\t" ? "&#9;" : c === "\n" ? "&#10;" : "&#13;",
  );
}

function startTag(el: Element): string {
  let out = "<" + el.tagName;
  const attrs = el.attributes;
  for (let i = 0, n = attrs.length; i < n; i++) {
    const a = attrs[i]!;
    out += " " + a.name + '="' + escapeAttValue(a.value) + '"';
  }
  return out;
}

function leaf(node: XmlNode): string {
  switch (node.nodeType) {
    case 3:
      return escText((node as Text).data);
    case 4:
      return "<![CDATA[" + (node as CDATASection).data + "]]>";
    case 7: {
      const pi = node as ProcessingInstruction;
      return "<?" + pi.target + (pi.data ? ` ${pi.data}` : "") + "?>";
    }
    case 8:
      return "<!--" + (node as Comment).data + "-->";
    default:
      return "";
  }
}

// A walk over the tree without recursion (a stored document's depth is not bounded by the stack).
// String concatenation (V8 ropes, flattened once at the end) is faster than an array join here.
function write(root: XmlNode): string {
  let out = "";
  let node: XmlNode = root;
  for (;;) {
    const t = node.nodeType;
    if (t === 1) {
      out += startTag(node as Element);
      if (node.firstChild) {
        out += ">";
        node = node.firstChild;
        continue;
      }
      out += "/>";
    } else if (t === 9 || t === 11) {
      if (node.firstChild) {
        node = node.firstChild;
        continue;
      }
    } else {
      out += leaf(node);
    }
    // `node` is written: on to its next sibling, closing the ancestors it ends
    for (;;) {
      if (node === root) return out;
      const next: XmlNode | null = node.nextSibling;
      if (next) {
        node = next;
        break;
      }
      node = node.parentNode!;
      if (node.nodeType === 1) out += "</" + (node as Element).tagName + ">";
    }
  }
}

/** Serialize a document or node. */
export function serializeFaithful(node: XmlNode): string {
  return write(node);
}
