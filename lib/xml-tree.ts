/**
 * A read-only XML tree: what lib/xml-parser.ts builds for `parseXmlTree` (lib/xml.ts), with the
 * DOM's names for the few things validators and readers look at (nodeType, namespaceURI,
 * localName, attributes, getAttribute, firstChild/nextSibling, data, textContent,
 * documentElement), so that the same code reads it and an xmldom tree (the `XmlElementView`
 * family of types in lib/xml.ts).
 *
 * Why (issue 13): an xmldom element carries a namespace map, an attribute map with two index
 * dictionaries and a child list — five objects besides itself, ~500 bytes per node. Building them
 * was two thirds of parsing a 200-entry list (330 µs against 120 µs for this tree) and most of an
 * XCAP PUT's garbage; a whole-document PUT only validates and stores its text.
 *
 * Nothing here is modified after the parser has built it; there are no setters.
 */

abstract class TreeNode {
  abstract readonly nodeType: number;
  parentNode: TreeElement | TreeDocument | null = null;
  nextSibling: TreeChild | null = null;
  previousSibling: TreeChild | null = null;
}

/** Element or document: a node with children. */
abstract class TreeParent extends TreeNode {
  firstChild: TreeChild | null = null;
  lastChild: TreeChild | null = null;

  /** Append a child the parser has just built (not linked anywhere yet). */
  append(child: TreeChild): void {
    child.parentNode = this as unknown as TreeElement;
    child.previousSibling = this.lastChild;
    if (this.lastChild) this.lastChild.nextSibling = child;
    else this.firstChild = child;
    this.lastChild = child;
  }
}

export class TreeDocument extends TreeParent {
  readonly nodeType = 9;
  documentElement: TreeElement | null = null;

  get textContent(): null {
    return null;
  }
}

export class TreeAttr {
  readonly nodeType = 2;
  constructor(
    readonly namespaceURI: string | null,
    /** Qualified name, as written. */
    readonly name: string,
    readonly prefix: string | null,
    readonly localName: string,
    readonly value: string,
  ) {}
}

export class TreeElement extends TreeParent {
  readonly nodeType = 1;
  readonly attributes: TreeAttr[] = [];
  constructor(
    readonly namespaceURI: string | null,
    /** Qualified name, as written. */
    readonly tagName: string,
    readonly prefix: string | null,
    readonly localName: string,
  ) {
    super();
  }

  get nodeName(): string {
    return this.tagName;
  }

  /** Value of the attribute with this qualified name, or null (DOM getAttribute). */
  getAttribute(name: string): string | null {
    const atts = this.attributes;
    for (let i = 0; i < atts.length; i++) if (atts[i]!.name === name) return atts[i]!.value;
    return null;
  }

  hasAttribute(name: string): boolean {
    return this.getAttribute(name) !== null;
  }

  /** Value of the attribute with this expanded name, or null (DOM getAttributeNS). */
  getAttributeNS(namespaceURI: string | null, localName: string): string | null {
    const ns = namespaceURI || null;
    const atts = this.attributes;
    for (let i = 0; i < atts.length; i++) {
      const a = atts[i]!;
      if (a.namespaceURI === ns && a.localName === localName) return a.value;
    }
    return null;
  }

  /** The text of every text and CDATA node below, in document order (DOM textContent). */
  get textContent(): string {
    let out = "";
    // iterative walk: no recursion on the input's depth
    let n: TreeChild | null = this.firstChild;
    while (n) {
      if (n.nodeType === 3 || n.nodeType === 4) out += n.data;
      else if (n.nodeType === 1 && n.firstChild) {
        n = n.firstChild;
        continue;
      }
      while (n && !n.nextSibling) {
        const up: TreeElement | TreeDocument | null = n.parentNode;
        n = up === this || !up || up.nodeType !== 1 ? null : (up as TreeElement);
        if (!n) break;
      }
      n = n ? n.nextSibling : null;
    }
    return out;
  }
}

/** Text (3) or CDATA section (4). */
export class TreeText extends TreeNode {
  constructor(
    readonly nodeType: 3 | 4,
    readonly data: string,
  ) {
    super();
  }

  get textContent(): string {
    return this.data;
  }

  /** A node of these kinds never has children. */
  get firstChild(): null {
    return null;
  }
}

/** Comment (8) or processing instruction (7, `target` set). */
export class TreeMarkup extends TreeNode {
  constructor(
    readonly nodeType: 7 | 8,
    readonly data: string,
    readonly target: string | null = null,
  ) {
    super();
  }

  get textContent(): string {
    return this.data;
  }

  /** A node of these kinds never has children. */
  get firstChild(): null {
    return null;
  }
}

export type TreeChild = TreeElement | TreeText | TreeMarkup;
