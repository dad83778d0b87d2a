/** What the user sets about themselves, and the Blink-compatible PIDF this tab publishes for it. */
import { composePidf, type CapabilitiesInput, type ExtendedStatus, type PidfInput } from "../presence";

/** The status picker's values. "invisible" publishes offline (watchers see the user offline). */
export type MyStatus = "available" | "away" | "extended-away" | "busy" | "invisible";

export interface MyPresence {
  status: MyStatus;
  note?: string;
  /** RPID activities; default derived from the status (away → away, busy → busy). */
  activities?: string[];
  homepage?: string;
  /** Icon URL, hash-tagged (`iconUrlWithHash`) so watchers refetch only when it changes. */
  iconUrl?: string;
  /** Set by the auto-away helper: published as RPID user-input "idle", not adopted by other tabs. */
  idle?: boolean;
  /** With `idle`: when the user last did something (ISO 8601), published as user-input `last-input` (RFC 4480 user-input). */
  lastInput?: string;
  /**
   * "Clear after": when the chosen status and note end by themselves (ISO 8601). The tab returns
   * to Available without a note then; published as the `until` of the RPID activities (RFC 4480 §3.2).
   */
  until?: string;
}

export interface DeviceDescription {
  /** Stable device (instance) id: the tab's +sip.instance UUID. */
  deviceId: string;
  userAgent?: string;
  /** Host / device description. */
  description?: string;
  displayName?: string;
  /** Minutes from UTC; default from the clock's time zone. */
  timeOffset?: number;
  capabilities?: CapabilitiesInput;
}

export const DEFAULT_CAPABILITIES: CapabilitiesInput = { message: true, audio: false, video: false };

/** Extended status published for a picker status. */
export function extendedStatusOf(status: MyStatus): ExtendedStatus {
  return status === "invisible" ? "offline" : status;
}

/** Minutes east of UTC for the given instant in this runtime's time zone. */
export function localTimeOffsetMinutes(at: Date = new Date()): number {
  return -at.getTimezoneOffset();
}

/** PIDF input for this tab's publication. */
export function pidfInputFor(entity: string, me: MyPresence, device: DeviceDescription, now: Date = new Date()): PidfInput {
  const invisible = me.status === "invisible";
  const input: PidfInput = {
    entity,
    // invisible: closed, so even a client that reads only basic status sees offline
    basic: invisible ? "closed" : "open",
    extended: extendedStatusOf(me.status),
    deviceId: device.deviceId,
    timeOffset: device.timeOffset ?? localTimeOffsetMinutes(now),
    capabilities: device.capabilities ?? DEFAULT_CAPABILITIES,
    timestamp: now,
  };
  if (invisible) input.activities = [];
  else if (me.activities) input.activities = me.activities;
  if (me.note && !invisible) input.note = me.note;
  if (me.homepage) input.homepage = me.homepage;
  if (me.iconUrl) input.iconUrl = me.iconUrl;
  if (device.userAgent) input.userAgent = device.userAgent;
  if (device.description) input.deviceDescription = device.description;
  if (device.displayName) input.displayName = device.displayName;
  if (me.idle && !invisible) input.userInput = me.lastInput ? { value: "idle", lastInput: me.lastInput } : { value: "idle" };
  if (me.until && !invisible) input.activitiesUntil = me.until;
  return input;
}

export function composeMyPidf(entity: string, me: MyPresence, device: DeviceDescription, now: Date = new Date()): string {
  return composePidf(pidfInputFor(entity, me, device, now));
}

/** Picker status shown for a published extended status. */
export function myStatusOf(extended: ExtendedStatus | undefined): MyStatus | undefined {
  if (!extended) return undefined;
  return extended === "offline" ? "invisible" : extended;
}
