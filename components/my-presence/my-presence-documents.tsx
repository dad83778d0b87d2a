"use client";
/**
 * The parts of My Presence kept in the user's XCAP documents — picture, offline status, default
 * policy, who can see me, who may message me — following changes made elsewhere: when xcap-diff
 * says one of those documents changed (another tab, Blink, the operator), the page loads them
 * again through a server action and each form adopts the new values (RFC 5875 §4.4).
 */
import { useEffect, useRef, useState } from "react";
import { ImPolicyForm } from "../chat/im-policy-form";
import { useDocumentsChanged, usePresenceClient } from "../presence/presence-client-context";
import { MY_PRESENCE_AUIDS } from "@/lib/client/document-auids";
import type { ImPolicy } from "@/lib/im";
import type { ActionResult, MyPresenceDocuments } from "@/lib/portal/wire-types";
import { publishableIconUrl, type XcapLocation } from "../presence/contact-icon";
import { Card } from "./card";
import { IconEditor, type IconActions } from "./icon-editor";
import { DefaultPolicyForm, OfflineStatusForm, WatchersPanel, type OfflineStatusActions, type WatcherActions } from "./privacy-forms";

export interface MyPresenceDocumentActions extends IconActions, OfflineStatusActions, WatcherActions {
  reload: () => Promise<ActionResult<MyPresenceDocuments>>;
  setDefaultPolicy: (p: MyPresenceDocuments["defaultPolicy"]) => Promise<ActionResult<null>>;
  saveImPolicy: (p: ImPolicy) => Promise<ActionResult<null>>;
}

export function MyPresenceDocumentsView({
  initial,
  status,
  self,
  name,
  xcap,
  maxIconBytes,
  actions,
}: {
  initial: MyPresenceDocuments;
  /** The Status card, rendered by the page above the picture. */
  status: React.ReactNode;
  self: string;
  name: string;
  xcap: XcapLocation;
  maxIconBytes: number;
  actions: MyPresenceDocumentActions;
}) {
  const [docs, setDocs] = useState(initial);
  useDocumentsChanged(MY_PRESENCE_AUIDS, async () => {
    const r = await actions.reload();
    if (r.ok) setDocs(r.data);
  });
  // a picture changed elsewhere: this page publishes the new one too (OMA pres-content URL in its PIDF)
  const client = usePresenceClient();
  const published = useRef(initial.iconPublishedUrl);
  useEffect(() => {
    if (!client || docs.iconPublishedUrl === published.current) return;
    published.current = docs.iconPublishedUrl;
    void client.setIcon(docs.iconPublishedUrl ? publishableIconUrl(docs.iconPublishedUrl, xcap) : undefined).catch(() => undefined);
  }, [client, docs.iconPublishedUrl, xcap]);
  return (
    <div className="mt-4 grid gap-4 lg:grid-cols-[3fr_2fr]" data-testid="my-presence-documents">
      <div className="space-y-4">
        {status}
        <Card id="icon-heading" title="Your picture">
          <IconEditor name={name} initial={docs.iconDataUrl} xcap={xcap} actions={actions} maxBytes={maxIconBytes} />
        </Card>
        <Card id="offline-heading" title="When I am offline">
          <OfflineStatusForm initial={docs.offline} actions={actions} />
        </Card>
      </div>
      <div className="space-y-4">
        <Card id="policy-heading" title="New watchers">
          <DefaultPolicyForm initial={docs.defaultPolicy} setDefaultPolicy={actions.setDefaultPolicy} />
        </Card>
        <Card id="watchers-heading" title="Who can see me">
          <WatchersPanel self={self} initialBlocked={docs.blocked} names={docs.names} actions={actions} />
        </Card>
        {docs.imPolicy !== null ? (
          <Card id="im-policy-heading" title="Who may message me">
            <ImPolicyForm initial={docs.imPolicy} save={actions.saveImPolicy} />
          </Card>
        ) : null}
      </div>
    </div>
  );
}
