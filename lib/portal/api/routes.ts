/** The provisioning API's resources: accounts and domains (every change audited as `token:<name>`). */
import { z } from "zod";
import type { Db } from "../../db";
import {
  addAccount,
  addDomain,
  checkPassword,
  cleanDisplayName,
  deleteAccount,
  getAccount,
  getDomain,
  listDomains,
  MAX_DISPLAY_NAME,
  MAX_PAGE_SIZE,
  searchAccounts,
  setDisabled,
  setPassword,
  setRole,
  updateDomain,
  AccountError,
  type AccountView,
} from "../../accounts/service";
import { changeDisplayName } from "../display-name";
import { route, type Route } from "./router";

export const AccountSchema = z
  .strictObject({
    address: z.string().describe("user@domain"),
    displayName: z.string().nullable(),
    role: z.enum(["user", "admin"]),
    disabled: z.boolean(),
  });

export const AccountPageSchema = z
  .strictObject({
    items: z.array(AccountSchema),
    page: z.int().min(1),
    pageSize: z.int().min(1).max(MAX_PAGE_SIZE),
    total: z.int().min(0),
  });

export const DomainSchema = z
  .strictObject({
    name: z.string(),
    realm: z.string(),
    enabled: z.boolean(),
    accounts: z.int().min(0).describe("number of accounts in the domain"),
  });

const displayName = z.string().max(MAX_DISPLAY_NAME);
const role = z.enum(["user", "admin"]);

const AccountCreate = z
  .strictObject({
    address: z.string().min(3).max(320).describe("user@domain of an existing domain"),
    password: z.string().min(1).max(1024).describe("at least 8 characters mixing letters with digits or symbols"),
    displayName: displayName.optional(),
    role: role.optional().describe("default user"),
  });

const AccountUpdate = z
  .strictObject({
    displayName: displayName.nullable().optional().describe("null or blank clears it"),
    password: z.string().min(1).max(1024).optional().describe("ends the account's sessions"),
    role: role.optional(),
    disabled: z.boolean().optional().describe("true ends the account's sessions"),
  });

const AccountQuery = z.strictObject({
  query: z.string().max(200).optional().describe("part of the address or display name"),
  page: z.coerce.number().int().min(1).max(1_000_000).optional().describe("1-based, default 1"),
  pageSize: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional().describe(`default 50, at most ${MAX_PAGE_SIZE}`),
});

const DomainCreate = z
  .strictObject({
    name: z.string().min(1).max(253),
    realm: z.string().min(1).max(128).optional().describe("digest realm, default the domain name"),
  });

const DomainUpdate = z
  .strictObject({
    realm: z.string().min(1).max(128).optional().describe("only while the domain has no accounts (409 otherwise)"),
    enabled: z.boolean().optional(),
  });

/** An account as the API shows it (no internal id). */
function publicAccount(a: AccountView): z.infer<typeof AccountSchema> {
  return { address: a.address, displayName: a.displayName, role: a.role, disabled: a.disabled };
}

async function accountOrThrow(db: Db, address: string): Promise<AccountView> {
  const a = await getAccount(db, address);
  if (!a) throw new AccountError("unknown-account", `no account ${address}`);
  return a;
}

export function provisioningRoutes(db: Db): Route[] {
  return [
    route({
      method: "GET",
      path: "/accounts",
      operationId: "listAccounts",
      summary: "Search accounts, one page at a time (address order)",
      tag: "accounts",
      query: AccountQuery,
      responses: { 200: { description: "a page of accounts", schema: AccountPageSchema } },
      run: async ({ query }) => {
        const p = await searchAccounts(db, query);
        return { status: 200, body: { ...p, items: p.items.map(publicAccount) } };
      },
    }),
    route({
      method: "POST",
      path: "/accounts",
      operationId: "createAccount",
      summary: "Create an account",
      tag: "accounts",
      body: AccountCreate,
      responses: {
        201: { description: "created", schema: AccountSchema },
        409: { description: "the account exists" },
        422: { description: "weak password, unknown domain or an invalid display name" },
      },
      run: async ({ body, actor }) => {
        const a = await addAccount(db, { ...body, actor });
        return { status: 201, body: publicAccount(a), headers: { location: `/api/v1/accounts/${encodeURIComponent(a.address)}` } };
      },
    }),
    route({
      method: "GET",
      path: "/accounts/{address}",
      operationId: "getAccount",
      summary: "One account",
      tag: "accounts",
      responses: { 200: { description: "the account", schema: AccountSchema }, 404: { description: "no such account" } },
      run: async ({ params }) => ({ status: 200, body: publicAccount(await accountOrThrow(db, params.address)) }),
    }),
    route({
      method: "PATCH",
      path: "/accounts/{address}",
      operationId: "updateAccount",
      summary: "Change display name, password, role or disabled (members left out stay as they are)",
      tag: "accounts",
      body: AccountUpdate,
      responses: {
        200: { description: "the account after the change", schema: AccountSchema },
        404: { description: "no such account" },
        422: { description: "weak password or an invalid display name" },
      },
      run: async ({ params, body, actor }) => {
        const a = await accountOrThrow(db, params.address);
        // everything is checked before anything changes
        if (body.password !== undefined) checkPassword(body.password);
        if (body.displayName !== undefined) cleanDisplayName(body.displayName);
        if (body.displayName !== undefined) await changeDisplayName(db, a.address, body.displayName, actor);
        if (body.role !== undefined && body.role !== a.role) await setRole(db, a.address, body.role, actor);
        if (body.password !== undefined) await setPassword(db, a.address, body.password, actor);
        if (body.disabled !== undefined && body.disabled !== a.disabled) await setDisabled(db, a.address, body.disabled, actor);
        return { status: 200, body: publicAccount(await accountOrThrow(db, a.address)) };
      },
    }),
    route({
      method: "DELETE",
      path: "/accounts/{address}",
      operationId: "deleteAccount",
      summary: "Delete an account with its XCAP documents; its sessions, registrations and subscriptions end",
      tag: "accounts",
      responses: { 204: { description: "deleted" }, 404: { description: "no such account" } },
      run: async ({ params, actor }) => {
        await deleteAccount(db, params.address, actor);
        return { status: 204 };
      },
    }),
    route({
      method: "GET",
      path: "/domains",
      operationId: "listDomains",
      summary: "All domains",
      tag: "domains",
      responses: { 200: { description: "the domains", schema: z.strictObject({ items: z.array(DomainSchema) }) } },
      run: async () => ({ status: 200, body: { items: await listDomains(db) } }),
    }),
    route({
      method: "POST",
      path: "/domains",
      operationId: "createDomain",
      summary: "Add a domain",
      tag: "domains",
      body: DomainCreate,
      responses: {
        201: { description: "created", schema: DomainSchema },
        409: { description: "the domain exists" },
        422: { description: "invalid realm" },
      },
      run: async ({ body, actor }) => {
        const d = await addDomain(db, body.name, { realm: body.realm, actor });
        return { status: 201, body: await getDomain(db, d.name), headers: { location: `/api/v1/domains/${encodeURIComponent(d.name)}` } };
      },
    }),
    route({
      method: "GET",
      path: "/domains/{name}",
      operationId: "getDomain",
      summary: "One domain",
      tag: "domains",
      responses: { 200: { description: "the domain", schema: DomainSchema }, 404: { description: "no such domain" } },
      run: async ({ params }) => ({ status: 200, body: await getDomain(db, params.name) }),
    }),
    route({
      method: "PATCH",
      path: "/domains/{name}",
      operationId: "updateDomain",
      summary: "Change the realm (only without accounts) or enable/disable the domain",
      tag: "domains",
      body: DomainUpdate,
      responses: {
        200: { description: "the domain after the change", schema: DomainSchema },
        404: { description: "no such domain" },
        409: { description: "the realm cannot change while the domain has accounts" },
        422: { description: "invalid realm" },
      },
      run: async ({ params, body, actor }) => ({ status: 200, body: await updateDomain(db, params.name, body, actor) }),
    }),
  ];
}
