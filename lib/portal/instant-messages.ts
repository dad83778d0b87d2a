/** What the portal needs for instant messages: conversation history (InstantMessage table) and "who may message me" (im-rules in XCAP). */
import { AUID, CONTENT_TYPES } from "../presence/namespaces";
import { cpimContentType, composeImPolicy, imPolicyOf, parseCpim, parseImRules, type ImPolicy } from "../im";
import { db } from "../db";
import { PrismaMessageStore } from "../server/message";
import { LIST, listXcapUri } from "../xcap/addressbook";
import { canonicalAor } from "../sip/aor";
import { publicXcapRoot, xcapClientFor } from "./presence-documents";

export interface HistoryMessage {
  id: string;
  direction: "in" | "out";
  text: string;
  date: number;
  /** imdn.Message-ID or Call-ID: the page matches live messages and copies by it. */
  messageId?: string;
}

/** The text of a stored body (text/plain, or text/plain inside message/cpim); undefined for anything else. */
function textOf(contentType: string, body: string): string | undefined {
  const mime = contentType.split(";", 1)[0].trim().toLowerCase();
  if (mime === CONTENT_TYPES.text) return body;
  if (mime !== CONTENT_TYPES.cpim) return undefined;
  try {
    const cpim = parseCpim(body);
    return cpimContentType(cpim) === CONTENT_TYPES.text ? cpim.body : undefined;
  } catch {
    return undefined;
  }
}

/** The last `limit` messages between `address` (user@domain) and `peer` (a SIP URI), oldest first. */
export async function conversationHistory(address: string, peer: string, limit = 50): Promise<HistoryMessage[]> {
  const self = `sip:${address}`;
  const rows = await new PrismaMessageStore(db()).conversation(self, peer, { limit });
  return rows
    .reverse()
    .flatMap((r) => {
      const text = textOf(r.contentType, r.body);
      if (text === undefined) return [];
      const m: HistoryMessage = { id: `h${r.id}`, direction: r.sender === self ? "out" : "in", text, date: r.date };
      if (r.messageId) m.messageId = r.messageId;
      return [m];
    });
}

/** Unread messages per peer (server-side read markers, PrismaMessageStore.unreadCounts). */
export function unreadConversations(address: string): Promise<Record<string, number>> {
  return new PrismaMessageStore(db()).unreadCounts(`sip:${address}`);
}

/** The user has read the conversation with `peer` up to now. */
export function markConversationRead(address: string, peer: string): Promise<void> {
  return new PrismaMessageStore(db()).markRead(`sip:${address}`, canonicalAor(peer), Date.now());
}

export async function getImPolicy(address: string): Promise<ImPolicy | "custom"> {
  const doc = await (await xcapClientFor(address)).getDocument(AUID.imRules, "index");
  if (!doc) return "everyone";
  try {
    return imPolicyOf(parseImRules(doc.xml));
  } catch {
    return "custom";
  }
}

export async function setImPolicy(address: string, policy: ImPolicy): Promise<void> {
  const client = await xcapClientFor(address);
  const anchor = listXcapUri({ xcapRoot: publicXcapRoot(), xui: `sip:${address}` }, LIST.buddies);
  const xml = composeImPolicy(policy, anchor);
  if (xml === null) await client.deleteDocument(AUID.imRules, "index");
  else await client.putDocument(AUID.imRules, "index", xml, { contentType: CONTENT_TYPES.authPolicy });
}
