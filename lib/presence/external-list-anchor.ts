/**
 * OMA `external-list` anchors: XCAP URIs (RFC 4825 §6) of a resource list, e.g.
 * `http://xcap/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22oma_grantedcontacts%22%5D`.
 * This splits one into the parts a resolver needs (document and list name); fetching the
 * document is the caller's business (lib/xcap on the server).
 */
export interface ExternalListAnchor {
  /** Everything up to and including the XCAP root path, e.g. `http://xcap/xcap-root`. */
  xcapRoot: string;
  auid: string;
  tree: "users" | "global";
  /** The XUI for users documents (decoded), e.g. `sip:alice@example.test`. */
  xui?: string;
  /** Document path below the user's/global directory (decoded), e.g. `index`. */
  document: string;
  /** Decoded node selector after `~~`, e.g. `/resource-lists/list[@name="oma_grantedcontacts"]`. */
  nodeSelector?: string;
  /** The `name` of the top-level list the node selector designates, when it is that simple form. */
  listName?: string;
}

const LIST_NAME_RE = /^\/(?:[\w-]+:)?resource-lists\/(?:[\w-]+:)?list\[@name=(?:"([^"]*)"|'([^']*)')\]$/;

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Parse an anchor; undefined when it is not a `/users/` or `/global/` XCAP URI. */
export function parseExternalListAnchor(anchor: string): ExternalListAnchor | undefined {
  const sep = anchor.indexOf("/~~");
  const docPart = sep >= 0 ? anchor.slice(0, sep) : anchor;
  const selector = sep >= 0 ? decode(anchor.slice(sep + 3)) : undefined;
  const m = /^(.*?)\/([^/]+)\/(users|global)\/(.+)$/.exec(docPart);
  if (!m) return undefined;
  const [, xcapRoot, auid, tree, rest] = m;
  const out: ExternalListAnchor = { xcapRoot, auid: decode(auid), tree: tree as "users" | "global", document: "" };
  if (tree === "users") {
    const slash = rest.indexOf("/");
    if (slash < 0) return undefined;
    out.xui = decode(rest.slice(0, slash));
    out.document = decode(rest.slice(slash + 1));
  } else out.document = decode(rest);
  if (selector) {
    out.nodeSelector = selector;
    const l = LIST_NAME_RE.exec(selector);
    if (l) out.listName = l[1] ?? l[2];
  }
  return out;
}
