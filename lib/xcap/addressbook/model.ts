/**
 * The Blink (python-sipsimple) address book: typed model, namespaces, validation and errors.
 * Storage layout: /work/shared/notes/blink-xcap-layout.md.
 */
import { AUID, NS } from "../../presence/namespaces";

export { AUID, NS };

/** Prefixes python-sipsimple declares; used when Herald has to introduce a namespace. */
export const PREFERRED_PREFIX: Readonly<Record<string, string>> = {
  [NS.resourceLists]: "rl",
  [NS.commonPolicy]: "cp",
  [NS.presRules]: "pr",
  [NS.omaCommonPolicy]: "ocp",
  [NS.addressbook]: "addressbook",
  [NS.sipsimpleAttributes]: "sipsimple",
  [NS.agpResourceLists]: "agp-rl",
};

/** Named top-level lists of the resource-lists `index` document, in the order Blink creates them. */
export const LIST = {
  buddies: "oma_buddylist",
  presenceGranted: "oma_grantedcontacts",
  presenceBlocked: "oma_blockedcontacts",
  allContacts: "oma_allcontacts",
  dialogGranted: "dialog_grantedcontacts",
  dialogBlocked: "dialog_blockedcontacts",
  presenceRls: "sipsimple_presence_rls",
  dialogRls: "sipsimple_dialog_rls",
  addressbook: "sipsimple_addressbook",
} as const;

/** pres-rules rule ids the SDK keeps; any other rule id is deleted by its normalizer. */
export const RULE = {
  granted: "wp_prs_grantedcontacts",
  blocked: "wp_prs_blockedcontacts",
  unlisted: "wp_prs_unlisted",
  allowUnlisted: "wp_prs_allow_unlisted",
  blockAnonymous: "wp_prs_block_anonymous",
  allowOwn: "wp_prs_allow_own",
} as const;

export type HandlingPolicy = "allow" | "block" | "default";
export type DefaultPolicy = "allow" | "confirm" | "block" | "polite-block";
export type EventName = "presence" | "dialog";

export const HANDLING_POLICIES: readonly HandlingPolicy[] = ["allow", "block", "default"];
export const DEFAULT_POLICIES: readonly DefaultPolicy[] = ["allow", "confirm", "block", "polite-block"];

export interface EventHandling {
  policy: HandlingPolicy;
  subscribe: boolean;
}

/** `sipsimple:attributes` key/value pairs; null is an explicitly nil attribute. */
export type ItemAttributes = Record<string, string | null>;

/**
 * Name of the `attributes` entry remembering an item's policy from before a block, so that an
 * unblock gives back exactly what the contact had (allow stays allow). The SDK keeps attributes
 * it does not know, so a Blink client on the same account does not lose it.
 */
export function beforeBlockKey(event: EventName): string {
  return `herald.${event}-policy-before-block`;
}

/** The policy an item had before it was blocked for `event` (default when not known). */
export function policyBeforeBlock(attributes: Readonly<ItemAttributes>, event: EventName): "allow" | "default" {
  return attributes[beforeBlockKey(event)] === "allow" ? "allow" : "default";
}

export interface ContactUri {
  id: string;
  uri: string;
  type: string | null;
  attributes: ItemAttributes;
}

export interface Contact {
  id: string;
  name: string;
  uris: ContactUri[];
  /** `uris/@default`: id of the preferred URI, if set */
  defaultUriId: string | null;
  /** ids of the groups listing this contact */
  groups: string[];
  presence: EventHandling;
  dialog: EventHandling;
  attributes: ItemAttributes;
}

export interface Group {
  id: string;
  name: string;
  contactIds: string[];
  attributes: ItemAttributes;
}

/** A `policy-element`: presence/dialog handling for a URI that is not a contact. */
export interface Policy {
  id: string;
  uri: string;
  name: string;
  presence: EventHandling;
  dialog: EventHandling;
  attributes: ItemAttributes;
}

/** The URI sets the SDK derives from contacts and policies for one event package. */
export interface DerivedSets {
  allowed: string[];
  blocked: string[];
  subscribed: string[];
}

export interface AddressBookModel {
  contacts: Contact[];
  groups: Group[];
  policies: Policy[];
  defaultPolicy: DefaultPolicy;
  presence: DerivedSets;
  dialog: DerivedSets;
}

/** What an edit needs to know about the account. */
export interface AddressBookContext {
  /** XCAP User Identifier, `sip:user@domain` */
  xui: string;
  /**
   * XCAP root written into anchors and resource-list URIs (Blink writes its configured root).
   * Use the public root the Blink clients of the account use, so neither side rewrites the other.
   */
  xcapRoot: string;
}

export type AddressBookErrorCode =
  | "invalid-uri"
  | "invalid-name"
  | "invalid-id"
  | "invalid-policy"
  | "invalid-document"
  | "contact-not-found"
  | "group-not-found"
  | "policy-not-found"
  | "duplicate-id"
  | "duplicate-name"
  | "duplicate-uri"
  | "own-uri";

export class AddressBookError extends Error {
  constructor(
    readonly code: AddressBookErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "AddressBookError";
  }
}

// ---- validation ---------------------------------------------------------------------------

const SIP_URI_RE = /^(sips?):([A-Za-z0-9\-_.!~*'()&=+$,;?/%]+@)?([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?(;[^\s<>"]*)?$/;
const TEL_URI_RE = /^tel:\+?[0-9A-Fa-f*#().-]+(;[^\s<>"]*)?$/;
const ID_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

export const MAX_NAME_LENGTH = 256;
export const MAX_URI_LENGTH = 512;

/**
 * Validate and normalise a contact address: `sip:`/`sips:`/`tel:` URI, or a bare `user@domain`
 * (which becomes `sip:user@domain`). The scheme is lower-cased; nothing else is rewritten so that
 * URIs compare exactly as the SDK compares them.
 */
export function normalizeUri(input: string): string {
  if (typeof input !== "string") throw new AddressBookError("invalid-uri", "URI must be a string");
  let s = input.trim();
  if (!s) throw new AddressBookError("invalid-uri", "URI is empty");
  if (s.length > MAX_URI_LENGTH) throw new AddressBookError("invalid-uri", `URI longer than ${MAX_URI_LENGTH} characters`);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(s);
  if (!scheme && s.includes("@")) s = `sip:${s}`;
  else if (scheme) s = scheme[1]!.toLowerCase() + s.slice(scheme[1]!.length);
  const m = SIP_URI_RE.exec(s);
  // RFC 3261 §19.1.4: the host compares case-insensitively, so new input is stored lower-cased
  if (m) return `${m[1]}:${m[2] ?? ""}${m[3]!.toLowerCase()}${s.slice(m[1]!.length + 1 + (m[2] ?? "").length + m[3]!.length)}`;
  if (TEL_URI_RE.test(s)) return s;
  throw new AddressBookError("invalid-uri", `not a SIP or tel URI: ${input}`);
}

/**
 * What makes two contact addresses the same person (RFC 3261 §19.1.4): scheme, user and port
 * exactly, host in any letter case; URI parameters do not make a second address.
 */
export function addressIdentity(uri: string): string {
  const m = SIP_URI_RE.exec(uri);
  if (!m) return uri.split(";")[0]!;
  return `${m[1]!.toLowerCase()}:${m[2] ?? ""}${m[3]!.toLowerCase()}${m[4] ?? ""}`;
}

/** Validate a display name; `required` rejects empty names (groups). */
export function normalizeName(input: string, what: string, required: boolean): string {
  if (typeof input !== "string") throw new AddressBookError("invalid-name", `${what} name must be a string`);
  const s = input.trim();
  if (required && !s) throw new AddressBookError("invalid-name", `${what} name is empty`);
  if (s.length > MAX_NAME_LENGTH) throw new AddressBookError("invalid-name", `${what} name longer than ${MAX_NAME_LENGTH} characters`);
  if (CONTROL_RE.test(s)) throw new AddressBookError("invalid-name", `${what} name contains control characters`);
  return s;
}

/** xs:ID as python-sipsimple checks it. */
export function validateId(id: string): string {
  if (typeof id !== "string" || !ID_RE.test(id)) throw new AddressBookError("invalid-id", `not a valid id: ${String(id)}`);
  return id;
}

export function validateHandlingPolicy(p: string): HandlingPolicy {
  if (!(HANDLING_POLICIES as readonly string[]).includes(p)) throw new AddressBookError("invalid-policy", `policy must be allow, block or default: ${p}`);
  return p as HandlingPolicy;
}

export function validateDefaultPolicy(p: string): DefaultPolicy {
  if (!(DEFAULT_POLICIES as readonly string[]).includes(p)) {
    throw new AddressBookError("invalid-policy", `default policy must be allow, confirm, block or polite-block: ${p}`);
  }
  return p as DefaultPolicy;
}

// ---- xs:anyURI values -----------------------------------------------------------------------

const PCT_RUN_RE = /(?:%[0-9A-Fa-f]{2})+/g;

/**
 * Value of an xs:anyURI attribute or element as the SDK reads it: python-sipsimple writes every
 * anyURI through `urllib.parse.quote` (`sip%3Abob%40example.test`) and unquotes on parsing, so
 * all comparisons are made on the percent-decoded value. Malformed sequences stay as they are.
 */
export function decodeAnyUri(value: string | null | undefined): string {
  if (!value) return "";
  const v = value.trim();
  if (!v.includes("%")) return v;
  return v.replace(PCT_RUN_RE, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

// ---- ids ------------------------------------------------------------------------------------

/**
 * A new item id in python-sipsimple's style: "id" + microseconds since the epoch + six random
 * digits (e.g. `id1718000000123456042137`), a valid xs:ID.
 */
export function generateId(): string {
  const micros = BigInt(Date.now()) * 1000n + BigInt(Math.floor((performance.now() % 1) * 1000));
  const rnd = new Uint32Array(1);
  globalThis.crypto.getRandomValues(rnd);
  return `id${micros}${String(rnd[0]! % 1_000_000).padStart(6, "0")}`;
}

// ---- account-derived names -----------------------------------------------------------------

export function splitXui(xui: string): { user: string; domain: string } {
  const m = /^sips?:([^@]+)@(.+)$/i.exec(xui);
  if (!m) throw new AddressBookError("invalid-uri", `XUI must be sip:user@domain: ${xui}`);
  return { user: m[1]!, domain: m[2]! };
}

/** `sip:<user>+presence@<domain>` — the account's RLS service URI for presence. */
export function rlsServiceUri(xui: string, event: EventName): string {
  const { user, domain } = splitXui(xui);
  return `sip:${user}+${event}@${domain}`;
}
