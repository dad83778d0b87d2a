/**
 * Instant Message Disposition Notification (RFC 5438): what a sender asks for (CPIM headers
 * `imdn.Message-ID` and `imdn.Disposition-Notification`, §6) and the `message/imdn+xml`
 * notification (§7.2.1), always carried in message/cpim with `Content-Disposition: notification`
 * (§7.2.1.1).
 */
import { CONTENT_TYPES, NS } from "../presence/namespaces";
import { appendElementNS, childElements, createXmlDocument, parseXml, serializeXmlDocument, textOf, XmlParseError, type XmlElement } from "../xml";
import { cpimHeader, createCpim, type CpimMessage } from "./cpim";
import { ImPayloadError } from "./errors";

/** §6.3 Disposition-Notification values. */
export type DispositionRequest = "positive-delivery" | "negative-delivery" | "display" | "processing";
export type NotificationKind = "delivery" | "display" | "processing";
/** §7.2.1 status values per notification kind. */
export const IMDN_STATUSES: Readonly<Record<NotificationKind, readonly string[]>> = {
  delivery: ["delivered", "failed", "forbidden", "error"],
  display: ["displayed", "forbidden", "error"],
  processing: ["processed", "stored", "forbidden", "error"],
};

export interface ImdnRequest {
  messageId: string;
  dispositions: DispositionRequest[];
}

export interface ImdnNotification {
  messageId: string;
  /** The original message's DateTime (§7.2.1.1 `datetime`). */
  dateTime: string;
  recipientUri?: string;
  originalRecipientUri?: string;
  subject?: string;
  kind: NotificationKind;
  status: string;
}

const DISPOSITIONS = new Set<DispositionRequest>(["positive-delivery", "negative-delivery", "display", "processing"]);
const MAX_BYTES = 8192;

/** What the CPIM message asks for (undefined without an imdn.Message-ID). Unknown dispositions are ignored (§6.3). */
export function imdnRequestOf(message: CpimMessage): ImdnRequest | undefined {
  const messageId = cpimHeader(message, "Message-ID", NS.imdnHeaders);
  if (!messageId) return undefined;
  const dispositions = (cpimHeader(message, "Disposition-Notification", NS.imdnHeaders) ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s): s is DispositionRequest => DISPOSITIONS.has(s as DispositionRequest));
  return { messageId, dispositions };
}

export function parseImdn(text: string): ImdnNotification {
  let root: XmlElement;
  try {
    root = parseXml(text, { maxBytes: MAX_BYTES, maxDepth: 6 }).documentElement;
  } catch (e) {
    if (e instanceof XmlParseError) throw new ImPayloadError("not-xml", `imdn: ${e.message}`);
    throw e;
  }
  if (root.namespaceURI !== NS.imdn || root.localName !== "imdn") throw new ImPayloadError("wrong-root", `expected {${NS.imdn}}imdn`);
  const kids = childElements(root).filter((c) => c.namespaceURI === NS.imdn);
  const text1 = (name: string) => textOf(kids.find((c) => c.localName === name))?.trim();
  const messageId = text1("message-id");
  const dateTime = text1("datetime");
  if (!messageId) throw new ImPayloadError("invalid-value", "imdn has no message-id");
  if (!dateTime) throw new ImPayloadError("invalid-value", "imdn has no datetime");
  const kinds: NotificationKind[] = ["delivery", "display", "processing"];
  const found = kinds.map((k) => [k, kids.find((c) => c.localName === `${k}-notification`)] as const).filter(([, el]) => el);
  if (found.length !== 1) throw new ImPayloadError("invalid-value", "imdn must hold exactly one *-notification");
  const [kind, el] = found[0];
  const status = childElements(el as XmlElement).find((c) => c.namespaceURI === NS.imdn && c.localName === "status");
  const value = status && childElements(status).find((c) => c.namespaceURI === NS.imdn);
  if (!value || !IMDN_STATUSES[kind].includes(value.localName)) throw new ImPayloadError("invalid-value", `imdn ${kind}-notification has no valid status`);
  const out: ImdnNotification = { messageId, dateTime, kind, status: value.localName };
  const r = text1("recipient-uri");
  if (r) out.recipientUri = r;
  const o = text1("original-recipient-uri");
  if (o) out.originalRecipientUri = o;
  const s = text1("subject");
  if (s) out.subject = s;
  return out;
}

export function composeImdn(n: ImdnNotification): string {
  if (!IMDN_STATUSES[n.kind].includes(n.status)) throw new RangeError(`${n.status} is not a ${n.kind} status`);
  const doc = createXmlDocument(NS.imdn, "imdn");
  const root = doc.documentElement;
  appendElementNS(root, NS.imdn, "message-id", {}, n.messageId);
  appendElementNS(root, NS.imdn, "datetime", {}, n.dateTime);
  if (n.recipientUri) appendElementNS(root, NS.imdn, "recipient-uri", {}, n.recipientUri);
  if (n.originalRecipientUri) appendElementNS(root, NS.imdn, "original-recipient-uri", {}, n.originalRecipientUri);
  if (n.subject) appendElementNS(root, NS.imdn, "subject", {}, n.subject);
  const note = appendElementNS(root, NS.imdn, `${n.kind}-notification`);
  const status = appendElementNS(note, NS.imdn, "status");
  appendElementNS(status, NS.imdn, n.status);
  return serializeXmlDocument(doc);
}

/** The CPIM wrapper of a notification (§7.2.1.1): own imdn.Message-ID, Content-Disposition: notification. */
export function imdnCpim(init: { from: string; to: string; notificationId: string; notification: ImdnNotification; dateTime?: Date }): CpimMessage {
  return createCpim({
    from: { uri: init.from },
    to: { uri: init.to },
    dateTime: init.dateTime,
    extraHeaders: [
      { name: "NS", value: `imdn <${NS.imdnHeaders}>` },
      { name: "imdn.Message-ID", value: init.notificationId },
    ],
    contentType: CONTENT_TYPES.imdn,
    contentHeaders: [{ name: "Content-Disposition", value: "notification" }],
    body: composeImdn(init.notification),
  });
}
