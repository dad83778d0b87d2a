/** The provisioning API's department lists (`/api/v1/lists`), every change audited as `token:<name>`. */
import { z } from "zod";
import type { Db } from "../../db";
import { MAX_DISPLAY_NAME } from "../../accounts/service";
import {
  createDepartmentList,
  deleteDepartmentList,
  getDepartmentList,
  listDepartmentLists,
  updateDepartmentList,
  type DepartmentListView,
} from "../../accounts/department-lists";
import { AccountError } from "../../accounts/service";
import { route, type Route } from "./router";

const MemberSchema = z.strictObject({
  address: z.string().describe("user@domain (or sip:user@domain) of the member"),
  displayName: z.string().nullable(),
});

export const ListSchema = z.strictObject({
  address: z.string().describe("user@domain: the list's SIP address (RLS service URI sip:user@domain)"),
  displayName: z.string().nullable(),
  members: z.array(MemberSchema),
});

const memberInput = z.strictObject({
  address: z.string().min(3).max(320).describe("user@domain or sip:user@domain"),
  displayName: z.string().max(MAX_DISPLAY_NAME).nullable().optional(),
});
const members = z.array(memberInput).max(5000).describe("in the order the list shows them; at most LIST_MAX_MEMBERS (default 500)");
const displayName = z.string().max(MAX_DISPLAY_NAME).nullable().optional().describe("null or blank clears it");

const ListCreate = z.strictObject({
  address: z.string().min(3).max(320).describe("user@domain of an existing domain; not an account's"),
  displayName,
  members: members.optional(),
});
const ListReplace = z.strictObject({ displayName, members });
const ListUpdate = z.strictObject({
  displayName,
  add: members.optional().describe("members appended (one already in the list is refused)"),
  remove: z.array(z.string().min(3).max(320)).max(5000).optional().describe("addresses taken out (one not in the list is refused)"),
});
const ListQuery = z.strictObject({ domain: z.string().max(253).optional().describe("only the lists of this domain") });

function publicList(l: DepartmentListView): z.infer<typeof ListSchema> {
  return { address: l.address, displayName: l.displayName, members: l.members };
}

/** What creating a list may be refused with (POST, and PUT of a new address). */
const CREATE_PROBLEMS = {
  409: { description: "the address is taken: a list, an account (or a URI derived from one) or a user's service URI" },
  422: { description: "unknown domain, an invalid display name, a member listed twice or too many members" },
};

const location = (address: string) => ({ location: `/api/v1/lists/${encodeURIComponent(address)}` });

export function listRoutes(db: Db, opts: { maxMembers?: number } = {}): Route[] {
  const max = { maxMembers: opts.maxMembers };
  return [
    route({
      method: "GET",
      path: "/lists",
      operationId: "listDepartmentLists",
      summary: "All department lists (address order)",
      tag: "lists",
      query: ListQuery,
      responses: { 200: { description: "the lists", schema: z.strictObject({ items: z.array(ListSchema) }) } },
      run: async ({ query }) => ({ status: 200, body: { items: (await listDepartmentLists(db, query)).map(publicList) } }),
    }),
    route({
      method: "POST",
      path: "/lists",
      operationId: "createDepartmentList",
      summary: "Create a department list",
      tag: "lists",
      body: ListCreate,
      responses: {
        201: { description: "created", schema: ListSchema },
        ...CREATE_PROBLEMS,
      },
      run: async ({ body, actor }) => {
        const l = await createDepartmentList(db, body, { actor, ...max });
        return { status: 201, body: publicList(l), headers: location(l.address) };
      },
    }),
    route({
      method: "GET",
      path: "/lists/{address}",
      operationId: "getDepartmentList",
      summary: "One department list with its members",
      tag: "lists",
      responses: { 200: { description: "the list", schema: ListSchema }, 404: { description: "no such list" } },
      run: async ({ params }) => ({ status: 200, body: publicList(await getDepartmentList(db, params.address)) }),
    }),
    route({
      method: "PUT",
      path: "/lists/{address}",
      operationId: "putDepartmentList",
      summary: "Create the list or replace its display name and members",
      tag: "lists",
      body: ListReplace,
      responses: {
        200: { description: "replaced", schema: ListSchema },
        201: { description: "created", schema: ListSchema },
        ...CREATE_PROBLEMS,
      },
      run: async ({ params, body, actor }) => {
        try {
          return { status: 200, body: publicList(await updateDepartmentList(db, params.address, body, { actor, ...max })) };
        } catch (err) {
          if (!(err instanceof AccountError && err.code === "unknown-list")) throw err;
        }
        const l = await createDepartmentList(db, { address: params.address, ...body }, { actor, ...max });
        return { status: 201, body: publicList(l), headers: location(l.address) };
      },
    }),
    route({
      method: "PATCH",
      path: "/lists/{address}",
      operationId: "updateDepartmentList",
      summary: "Change the display name, add or remove members (members left out stay)",
      tag: "lists",
      body: ListUpdate,
      responses: {
        200: { description: "the list after the change", schema: ListSchema },
        404: { description: "no such list" },
        422: { description: "an invalid display name, a member added twice, one removed that is not there, or too many members" },
      },
      run: async ({ params, body, actor }) => ({ status: 200, body: publicList(await updateDepartmentList(db, params.address, body, { actor, ...max })) }),
    }),
    route({
      method: "DELETE",
      path: "/lists/{address}",
      operationId: "deleteDepartmentList",
      summary: "Delete a department list; its subscribers' list subscriptions end (noresource)",
      tag: "lists",
      responses: { 204: { description: "deleted" }, 404: { description: "no such list" } },
      run: async ({ params, actor }) => {
        await deleteDepartmentList(db, params.address, { actor });
        return { status: 204 };
      },
    }),
  ];
}
