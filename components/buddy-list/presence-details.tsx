/** "Show presence information": everything the contact's presence document says, per device. */
import type { ContactPresence } from "@/lib/client";
import type { ServiceCapabilities } from "@/lib/presence/presence-document";
import { friendlyDeviceName } from "../presence/device-name";
import { StatusBadge, type ShownAvailability } from "../presence/status-indicator";

const CAPABILITY_NAMES: [keyof ServiceCapabilities, string][] = [
  ["audio", "audio"],
  ["video", "video"],
  ["text", "text"],
  ["message", "messaging"],
  ["application", "application"],
  ["control", "control"],
  ["data", "data"],
];

function capabilitiesText(c: ServiceCapabilities | undefined): string | null {
  if (!c) return null;
  const yes = CAPABILITY_NAMES.filter(([k]) => c[k] === true).map(([, n]) => n);
  const no = CAPABILITY_NAMES.filter(([k]) => c[k] === false).map(([, n]) => n);
  if (!yes.length && !no.length) return null;
  return [yes.length ? `supports ${yes.join(", ")}` : "", no.length ? `not ${no.join(", ")}` : ""].filter(Boolean).join("; ");
}

function timeText(ms: number | string | undefined): string | null {
  if (ms === undefined) return null;
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return null;
  return d.toLocaleString();
}

/** "since 14:05" for an idle device's last input. */
function idleText(lastInput: string): string {
  const t = Date.parse(lastInput);
  return Number.isFinite(t) ? `since ${new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}` : "";
}

function localTimeAt(offsetMinutes: number): string {
  const utc = Date.now() + new Date().getTimezoneOffset() * 60_000;
  const there = new Date(utc + offsetMinutes * 60_000);
  const sign = offsetMinutes >= 0 ? "+" : "−";
  const h = Math.floor(Math.abs(offsetMinutes) / 60);
  const m = Math.abs(offsetMinutes) % 60;
  return `${there.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })} (UTC${sign}${h}${m ? `:${String(m).padStart(2, "0")}` : ""})`;
}

function Row({ term, children }: { term: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[9rem_1fr] gap-2 py-0.5">
      <dt className="text-slate-600">{term}</dt>
      <dd className="min-w-0 break-words text-slate-900">{children}</dd>
    </div>
  );
}

function safeHref(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch {
    return null;
  }
}

export function PresenceDetails({
  id,
  name,
  uris,
  presence,
  availability,
  subscribed,
}: {
  id: string;
  name: string;
  uris: string[];
  presence: ContactPresence | undefined;
  availability: ShownAvailability;
  subscribed: boolean;
}) {
  const s = presence?.summary;
  const homepage = s?.homepage ? safeHref(s.homepage) : null;
  return (
    <div id={id} role="region" aria-label={`Presence information for ${name}`} data-testid="presence-details" className="border-t border-slate-100 bg-slate-50 px-4 py-3 text-sm">
      <dl>
        <Row term="Addresses">{uris.map((u) => u.replace(/^sips?:/, "")).join(", ")}</Row>
        <Row term="Status">
          <StatusBadge availability={availability} />
        </Row>
        {!subscribed ? <Row term="Subscription">You do not follow this contact&rsquo;s status.</Row> : null}
        {presence ? (
          <Row term="Subscription">
            {presence.stale ? "not live (reconnecting)" : presence.state}
            {presence.reason ? ` (${presence.reason})` : ""}
          </Row>
        ) : null}
        {timeText(presence?.lastChange) ? <Row term="Last change">{timeText(presence?.lastChange)}</Row> : null}
        {s?.notes.length ? <Row term={s.notes.length > 1 ? "Notes" : "Note"}>{s.notes.map((n) => n.text).join(" · ")}</Row> : null}
        {s?.activities.length ? <Row term="Activities">{s.activities.join(", ")}</Row> : null}
        {s?.homepage ? (
          <Row term="Homepage">
            {homepage ? (
              <a href={homepage} target="_blank" rel="noopener noreferrer" className="text-blue-800 underline">
                {s.homepage}
              </a>
            ) : (
              s.homepage
            )}
          </Row>
        ) : null}
        {s?.displayName ? <Row term="Published name">{s.displayName}</Row> : null}
      </dl>
      {s?.devices.length ? (
        <>
          <h3 className="mt-3 text-sm font-semibold text-slate-800">Devices ({s.devices.length})</h3>
          <ul className="mt-1 space-y-2">
            {s.devices.map((d) => (
              <li key={d.tupleId} className="rounded border border-slate-200 bg-white px-3 py-2" data-testid="presence-device">
                <dl>
                  <Row term="Status">
                    <StatusBadge availability={d.availability} /> {d.idle ? <span className="text-slate-600">(idle{d.lastInput ? ` ${idleText(d.lastInput)}` : ""})</span> : null}
                  </Row>
                  {d.notes.length ? <Row term="Note">{d.notes.map((n) => n.text).join(" · ")}</Row> : null}
                  {d.description || d.userAgent ? <Row term="Device">{friendlyDeviceName(d.description) ?? friendlyDeviceName(d.userAgent)}</Row> : null}
                  {d.userAgent && d.description ? <Row term="Software">{friendlyDeviceName(d.userAgent)}</Row> : null}
                  {d.timeOffset !== undefined ? <Row term="Local time">{localTimeAt(d.timeOffset)}</Row> : null}
                  {capabilitiesText(d.capabilities) ? <Row term="Capabilities">{capabilitiesText(d.capabilities)}</Row> : null}
                  {d.contact ? <Row term="Contact">{d.contact}</Row> : null}
                  {timeText(d.timestamp) ? <Row term="Published">{timeText(d.timestamp)}</Row> : null}
                </dl>
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p className="mt-2 text-slate-600">{subscribed ? "No device publishes presence for this contact right now." : null}</p>
      )}
    </div>
  );
}
