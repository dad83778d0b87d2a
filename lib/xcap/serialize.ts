/**
 * A faithful XML serializer for XCAP: it writes the DOM as it is, without adding namespace
 * declarations the document did not have (RFC 4825 §8.1.2: an element is returned as it
 * appears in the document; bindings in scope are fetched with `namespace::*`). Unknown
 * elements, attributes and namespace declarations survive unchanged.
 */
import type { XmlNode } from "../xml";

function escText(s: string): string {
  return s.replace(/[&<>\r]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&#13;"));
}

/** Escape an attribute value for use between double quotes. */
export function escapeAttValue(s: string): string {
  return s.replace(/[&<"\t\n\r]/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === '"' ? "&quot;" : c === "\t" ? "&#9;" : c === "\n" ? "&#10;" : "&#13;",
  );
}

function write(node: XmlNode, out: string[]): void {
  switch (node.nodeType) {
    case 1: {
      const el = node as Element;
      out.push("<", el.tagName);
      for (let i = 0; i < el.attributes.length; i++) {
        const a = el.attributes[i]!;
        out.push(" ", a.name, '="', escapeAttValue(a.value), '"');
      }
      if (!el.firstChild) {
        out.push("/>");
        return;
      }
      out.push(">");
      for (let c: ChildNode | null = el.firstChild; c; c = c.nextSibling) write(c, out);
      out.push("</", el.tagName, ">");
      return;
    }
    case 3:
      out.push(escText((node as Text).data));
      return;
    case 4:
      out.push("<![CDATA[", (node as CDATASection).data, "]]>");
      return;
    case 7: {
      const pi = node as ProcessingInstruction;
      out.push("<?", pi.target, pi.data ? ` ${pi.data}` : "", "?>");
      return;
    }
    case 8:
      out.push("<!--", (node as Comment).data, "-->");
      return;
    case 9:
    case 11:
      for (let c: ChildNode | null = node.firstChild; c; c = c.nextSibling) write(c, out);
      return;
    default:
      return;
  }
}

/** Serialize a document or node. */
export function serializeFaithful(node: XmlNode): string {
  const out: string[] = [];
  write(node, out);
  return out.join("");
}
