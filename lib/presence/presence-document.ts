/**
 * The typed view of a PIDF document (RFC 3863) with the RFC 4479 data model (tuple = service,
 * person, device) and the extensions Herald understands: RPID (RFC 4480), CIPID (RFC 4482),
 * capabilities (RFC 5196), Blink's `urn:ag-projects:xml:ns:pidf` (extended status, device-info)
 * and `urn:ag-projects:xml:ns:pidf:caps`, OMA `service-description`.
 *
 * Every component keeps its raw DOM `element`, and `extensions` lists the child elements the
 * typed view does not model, so composition and transformation never lose data.
 */
import type { XmlDocument, XmlElement } from "../xml";

export type BasicStatus = "open" | "closed";

/** Blink's `agp-pidf:extended` status values (extended-away from the SIP-XMPP gateway). */
export type ExtendedStatus = "available" | "away" | "extended-away" | "busy" | "offline";
export const EXTENDED_STATUSES: readonly ExtendedStatus[] = ["available", "away", "extended-away", "busy", "offline"];

export interface Note {
  text: string;
  lang?: string;
}

/** RPID elements that carry an enumeration of empty child elements (activities, mood, place-type, privacy...). */
export interface RpidEnumeration {
  /** Local names of the RPID values (`away`, `on-the-phone`...); values in other namespaces as `{ns}local`. */
  values: string[];
  /** Free-text `<other>` values. */
  other: Note[];
  notes: Note[];
  id?: string;
  from?: string;
  until?: string;
}

export interface UserInput {
  value: "active" | "idle";
  idleThreshold?: number;
  lastInput?: string;
}

export interface TimeOffset {
  /** Minutes from UTC. */
  value: number;
  description?: string;
}

/** CIPID contact information; allowed in tuples and persons. */
export interface ContactInfo {
  displayName?: string;
  icon?: string;
  homepage?: string;
  card?: string;
  map?: string;
  sound?: string;
}

/** Blink's `agp-pidf:device-info`. */
export interface DeviceInfo {
  id: string;
  /** Host name. */
  description?: string;
  userAgent?: string;
  timeOffset?: TimeOffset;
}

export interface SupportList {
  supported: string[];
  notsupported: string[];
}

/** RFC 5196 `servcaps` (plus the AG capability extensions). */
export interface ServiceCapabilities {
  audio?: boolean;
  video?: boolean;
  text?: boolean;
  message?: boolean;
  application?: boolean;
  control?: boolean;
  data?: boolean;
  automata?: boolean;
  isfocus?: boolean;
  /** `<type>` MIME types. */
  types: string[];
  descriptions: Note[];
  methods?: SupportList;
  eventPackages?: SupportList;
  extensions?: SupportList;
  schemes?: SupportList;
  languages?: SupportList;
  actor?: SupportList;
  classes?: SupportList;
  duplex?: SupportList;
  /** `urn:ag-projects:xml:ns:pidf:caps` booleans by local name: file-transfer, screen-sharing-server... */
  agp: Record<string, boolean>;
}

/** OMA Presence `service-description`. */
export interface ServiceDescription {
  serviceId?: string;
  version?: string;
  description?: string;
}

interface Component {
  id: string;
  notes: Note[];
  timestamp?: string;
  /** The raw element, as published (namespaces and unknown content included). */
  element: XmlElement;
  /** Child elements not modelled by the typed fields. */
  extensions: XmlElement[];
}

export interface Tuple extends Component, ContactInfo {
  basic?: BasicStatus;
  extendedStatus?: ExtendedStatus;
  contact?: string;
  priority?: number;
  /** `dm:deviceID` linking the service to a device. */
  deviceId?: string;
  deviceInfo?: DeviceInfo;
  capabilities?: ServiceCapabilities;
  serviceDescription?: ServiceDescription;
  userInput?: UserInput;
  class?: string;
  statusIcon?: string;
}

export interface Person extends Component, ContactInfo {
  activities?: RpidEnumeration;
  mood?: RpidEnumeration;
  placeType?: RpidEnumeration;
  privacy?: RpidEnumeration;
  sphere?: string;
  timeOffset?: TimeOffset;
  userInput?: UserInput;
  statusIcon?: string;
  class?: string;
}

export interface Device extends Component {
  deviceId?: string;
  userInput?: UserInput;
  timeOffset?: TimeOffset;
  class?: string;
  /** RFC 5196 `devcaps` descriptions and mobility. */
  capabilities?: { descriptions: Note[]; mobility?: SupportList };
}

export interface PresenceDocument {
  entity: string;
  tuples: Tuple[];
  /** Presence-level `pidf:note`s. */
  notes: Note[];
  persons: Person[];
  devices: Device[];
  /** Top-level elements other than tuple/note/person/device. */
  extensions: XmlElement[];
  /** The root `presence` element and its document. */
  element: XmlElement;
  document: XmlDocument;
}
