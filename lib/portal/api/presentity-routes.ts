/**
 * The provisioning API's virtual presentities (lib/accounts/virtual-presentities.ts): the first
 * `PUT /presentities/{address}/presence` creates one (201), later ones change its presence (200).
 * Every change is audited as `token:<name>`.
 */
import { z } from "zod";
import { CONTENT_TYPES } from "../../presence";
import { MAX_ACTIVITIES, MAX_WATCHER_ENTRIES, type PresentityView, type VirtualPresentities } from "../../accounts/virtual-presentities";
import { AccountError } from "../../accounts/service";
import { route, type Route } from "./router";
import { ProblemError } from "./problem";

const AVAILABILITY = ["available", "away", "extended-away", "busy", "offline"] as const;

const WatchersSchema = z.strictObject({
  domains: z.array(z.string().min(1).max(253)).max(MAX_WATCHER_ENTRIES).describe("every user of these domains may watch"),
  addresses: z.array(z.string().min(3).max(320)).max(MAX_WATCHER_ENTRIES).describe("and these users (user@domain)"),
});

export const PresentitySchema = z.strictObject({
  address: z.string().describe("user@domain"),
  availability: z.enum(AVAILABILITY).describe("what its presence document comes to"),
  note: z.string().nullable(),
  watchers: WatchersSchema.describe("who may watch it; anyone else is refused (403)"),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const PresenceBody = z.strictObject({
  availability: z.enum(AVAILABILITY),
  note: z.string().max(4000).nullable().optional().describe("at most NOTE_MAX_CHARS characters (default 200)"),
  activities: z.array(z.string().min(1).max(64)).max(MAX_ACTIVITIES).optional().describe("RPID activities (RFC 4480), e.g. vacation, meeting; default from availability"),
});

const PresentityUpdate = z.strictObject({ watchers: WatchersSchema });

function publicView(p: PresentityView): z.infer<typeof PresentitySchema> {
  return { ...p, createdAt: p.createdAt.toISOString(), updatedAt: p.updatedAt.toISOString() };
}

const location = (address: string) => `/api/v1/presentities/${encodeURIComponent(address)}`;

export function presentityRoutes(presentities: VirtualPresentities): Route[] {
  const one = async (address: string) => {
    const p = await presentities.get(address);
    if (!p) throw new AccountError("unknown-account", `no virtual presentity ${address}`);
    return p;
  };
  return [
    route({
      method: "GET",
      path: "/presentities",
      operationId: "listPresentities",
      summary: "All virtual presentities (address order)",
      tag: "presentities",
      responses: { 200: { description: "the virtual presentities", schema: z.strictObject({ items: z.array(PresentitySchema) }) } },
      run: async () => ({ status: 200, body: { items: (await presentities.list()).map(publicView) } }),
    }),
    route({
      method: "GET",
      path: "/presentities/{address}",
      operationId: "getPresentity",
      summary: "One virtual presentity",
      tag: "presentities",
      responses: { 200: { description: "the presentity", schema: PresentitySchema }, 404: { description: "no such virtual presentity" } },
      run: async ({ params }) => ({ status: 200, body: publicView(await one(params.address)) }),
    }),
    route({
      method: "PUT",
      path: "/presentities/{address}/presence",
      operationId: "setPresentityPresence",
      summary: "Set a virtual presentity's presence (created on first use, watchable by every user of its domain); its watchers are notified at once",
      tag: "presentities",
      body: PresenceBody,
      rawBody: { contentType: CONTENT_TYPES.pidf, description: "a PIDF document (RFC 3863) whose entity is sip:{address}" },
      responses: {
        200: { description: "presence changed", schema: PresentitySchema },
        201: { description: "created with this presence", schema: PresentitySchema },
        409: { description: "the address is an account's, derived from one, or an RLS service URI" },
        422: { description: "unknown domain, a note too long or with control characters, a bad activity, or the limit of virtual presentities reached" },
      },
      run: async ({ params, body, raw, actor }) => {
        if (raw === undefined && body === undefined) throw new ProblemError("invalid-request", "no body");
        const r = await presentities.setPresence(params.address, raw !== undefined ? { pidf: raw } : body!, actor);
        return r.created
          ? { status: 201, body: publicView(r.presentity), headers: { location: location(r.presentity.address) } }
          : { status: 200, body: publicView(r.presentity) };
      },
    }),
    route({
      method: "PATCH",
      path: "/presentities/{address}",
      operationId: "updatePresentity",
      summary: "Change who may watch a virtual presentity (its pres-rules); watchers it no longer allows are ended",
      tag: "presentities",
      body: PresentityUpdate,
      responses: {
        200: { description: "the presentity after the change", schema: PresentitySchema },
        404: { description: "no such virtual presentity" },
        422: { description: "a malformed domain or address" },
      },
      run: async ({ params, body, actor }) => ({ status: 200, body: publicView(await presentities.setWatchers(params.address, body.watchers, actor)) }),
    }),
    route({
      method: "DELETE",
      path: "/presentities/{address}",
      operationId: "deletePresentity",
      summary: "Delete a virtual presentity; its watchers' subscriptions end (noresource)",
      tag: "presentities",
      responses: { 204: { description: "deleted" }, 404: { description: "no such virtual presentity" } },
      run: async ({ params, actor }) => {
        await presentities.remove(params.address, actor);
        return { status: 204 };
      },
    }),
  ];
}
