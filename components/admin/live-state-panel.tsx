/**
 * Console: what the embedded SIP server holds for one account right now (read at page load), with
 * the operator's actions: end a registration, terminate a subscription, clear a publication.
 */
import type { LiveAccountView } from "@/lib/portal/live-state";
import type { ActionResult } from "@/lib/portal/wire-types";
import { LiveActionButton } from "./live-action-button";
import { card, muted, table, td } from "./styles";
import { TableHead } from "./table-head";

/** Server actions (app/admin/actions.ts), bound here to the account and the thing they act on. */
export interface LiveStateActions {
  endRegistration: (address: string, contact: string) => Promise<ActionResult<null>>;
  terminateSubscription: (address: string, id: string) => Promise<ActionResult<null>>;
  clearPublication: (address: string, etag: string) => Promise<ActionResult<null>>;
}

const time = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
const via = (inProcessFlow: boolean) => (inProcessFlow ? "web page (bridge)" : "SIP");

function Section({ id, title, empty, count, children }: { id: string; title: string; empty: string; count: number; children: React.ReactNode }) {
  return (
    <section aria-labelledby={id} className="mt-4">
      <h3 id={id} className="text-sm font-semibold">
        {title} ({count})
      </h3>
      {count === 0 ? <p className={`mt-1 text-sm ${muted}`}>{empty}</p> : <div className="mt-1 overflow-x-auto" tabIndex={0} role="region" aria-label={title}>{children}</div>}
    </section>
  );
}

export function LiveStatePanel({ address, state, actions }: { address: string; state: LiveAccountView | null; actions: LiveStateActions }) {
  return (
    <section aria-labelledby="live-state" className={`mt-4 ${card}`} data-testid="live-state">
      <h2 id="live-state" className="text-base font-semibold">Live state</h2>
      {state === null ? (
        <p className={`mt-1 text-sm ${muted}`}>This portal process runs no embedded SIP server (SIP_EMBEDDED=false or an upstream server): live state is not available here.</p>
      ) : (
        <>
          <p className={`mt-1 text-sm ${muted}`}>As the embedded SIP server holds it when this page was loaded (times in UTC).</p>
          <Section id="live-registrations" title="Registrations" empty="No registered device." count={state.registrations.length}>
            <table className={table}>
              <TableHead columns={["Contact", "Over", "Expires", "Action"]} />
              <tbody>
                {state.registrations.map((r, i) => (
                  <tr key={`${r.contact}${r.instanceId ?? ""}`}>
                    <td className={`${td} break-all`}>{r.contact}</td>
                    <td className={td}>{via(r.inProcessFlow)}</td>
                    <td className={td}>{time(r.expiresAt)}</td>
                    <td className={td}>
                      <LiveActionButton
                        text="End"
                        label={`End the registration of ${r.contact}`}
                        done={r.inProcessFlow ? "Registration ended; the page was signed out." : "Registration ended."}
                        testId={`end-registration-${i}`}
                        run={actions.endRegistration.bind(null, address, r.contact)}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <Section id="live-publications" title="Publications" empty="Nothing published." count={state.publications.length}>
            <table className={table}>
              <TableHead columns={["Says", "Over", "ETag", "Expires", "Action"]} />
              <tbody>
                {state.publications.map((p, i) => (
                  <tr key={p.etag}>
                    <td className={td}>
                      {p.availability}
                      {p.note ? ` — “${p.note}”` : ""}
                    </td>
                    <td className={td}>{via(p.inProcessFlow)}</td>
                    <td className={`${td} font-mono text-xs`}>{p.etag}</td>
                    <td className={td}>{time(p.expiresAt)}</td>
                    <td className={td}>
                      <LiveActionButton
                        text="Clear"
                        label={`Clear the publication ${p.etag}`}
                        done="Publication cleared; watchers see the state without it."
                        testId={`clear-publication-${i}`}
                        run={actions.clearPublication.bind(null, address, p.etag)}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          {(["subscriptionsHeld", "subscriptionsReceived"] as const).map((k) => (
            <Section key={k} id={`live-${k}`} title={k === "subscriptionsHeld" ? "Subscriptions held (as watcher)" : "Subscriptions received (watchers)"} empty="None." count={state[k].length}>
              <table className={table}>
                <TableHead columns={[k === "subscriptionsHeld" ? "To" : "Watcher", "Package", "State", "Expires", "Action"]} />
                <tbody>
                  {state[k].map((s, i) => (
                    <tr key={s.id}>
                      <td className={`${td} break-all`}>{k === "subscriptionsHeld" ? s.resource : s.watcher}</td>
                      <td className={td}>{s.event}</td>
                      <td className={td}>{s.state}</td>
                      <td className={td}>{time(s.expiresAt)}</td>
                      <td className={td}>
                        {s.state === "terminated" ? null : (
                          <LiveActionButton
                            text="Terminate"
                            label={`Terminate the ${s.event} subscription of ${s.watcher} to ${s.resource}`}
                            done="Subscription terminated; the watcher was told."
                            testId={`terminate-${k}-${i}`}
                            run={actions.terminateSubscription.bind(null, address, s.id)}
                          />
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Section>
          ))}
        </>
      )}
    </section>
  );
}
