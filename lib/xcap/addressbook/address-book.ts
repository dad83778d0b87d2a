/**
 * The address book service: applies one edit across the three documents a Blink client shares
 * with the portal, through XcapClient.update() (GET → edit → PUT If-Match, re-applied on 412).
 *
 * Order of writes, always:
 *   1. resource-lists `index`  — the edit itself, then normalizeResourceLists (derived lists)
 *   2. rls-services `index`    — normalizeRlsServices
 *   3. OMA pres-rules `index`  — normalizePresRules (and the default-policy edit, if any)
 *   4. with `identityRules`: IETF pres-rules `index` — the policy as inline identities
 *      (identity-rules.ts), for presence servers that cannot evaluate the OMA rules
 * Each step is an idempotent recomputation, so when a step fails after an earlier one landed,
 * the next call (any edit, or normalize()) converges the documents; a step with nothing to change
 * sends no PUT.
 */
import { parseXml, type XmlDocument } from "../../xml";
import type { XcapClient } from "../client/xcap-client";
import {
  emptyPresRules,
  emptyResourceLists,
  emptyRlsServices,
  normalizePresRules,
  normalizeResourceLists,
  normalizeRlsServices,
  parseAddressBook,
  setDefaultPolicyInPresRules,
} from "./documents";
import * as edits from "./edits";
import { mirrorIdentityRules } from "./identity-rules";
import {
  AUID,
  generateId,
  splitXui,
  validateDefaultPolicy,
  type AddressBookContext,
  type AddressBookModel,
  type Contact,
  type DefaultPolicy,
  type Group,
} from "./model";

export interface AddressBookOptions {
  client: XcapClient;
  /**
   * XCAP root written into anchors and resource-list URIs inside the documents; default the
   * client's root. Set it to the public root Blink clients use when the portal reaches the XCAP
   * server by an internal address, or both sides keep rewriting those URIs.
   */
  xcapRoot?: string;
  /** attempts per document on 412; default the client's setting */
  maxAttempts?: number;
  /** id generator (tests); default python-sipsimple style ids */
  idGenerator?: () => string;
  /**
   * Also restate the policy as inline-identity rules in the IETF pres-rules document after every
   * edit (Kamailio / OpenSIPS presence_xml cannot evaluate Blink's OMA rules). Default false.
   */
  identityRules?: boolean;
}

export interface AddressBookSnapshot extends AddressBookModel {
  etags: { resourceLists: string | null; rlsServices: string | null; presRules: string | null };
}

/** Edit of the resource-lists document; its return value is handed back to the caller. */
export type ResourceListsEdit<T> = (doc: XmlDocument, ctx: AddressBookContext) => T;
/** Edit of the pres-rules document (after normalisation). */
export type PresRulesEdit = (doc: XmlDocument, ctx: AddressBookContext) => void;

export class AddressBook {
  readonly client: XcapClient;
  readonly context: AddressBookContext;
  private readonly maxAttempts?: number;
  private readonly gen: () => string;
  private readonly identityRules: boolean;

  constructor(options: AddressBookOptions) {
    this.client = options.client;
    splitXui(options.client.xui);
    this.context = { xui: options.client.xui, xcapRoot: (options.xcapRoot ?? options.client.root).replace(/\/+$/, "") };
    this.maxAttempts = options.maxAttempts;
    this.gen = options.idGenerator ?? generateId;
    this.identityRules = options.identityRules ?? false;
  }

  /** Read the address book (no writes). Missing documents read as empty. */
  async load(): Promise<AddressBookSnapshot> {
    const [rl, rls, pr] = await Promise.all([
      this.client.getDocument(AUID.resourceLists, "index"),
      this.client.getDocument(AUID.rlsServices, "index"),
      this.client.getDocument(AUID.presRules, "index"),
    ]);
    const model = parseAddressBook(rl ? parseXml(rl.xml) : null, pr ? parseXml(pr.xml) : null);
    return { ...model, etags: { resourceLists: rl?.etag ?? null, rlsServices: rls?.etag ?? null, presRules: pr?.etag ?? null } };
  }

  /**
   * Apply an edit across the documents in the documented order and return the edit's result and
   * the resulting address book. AddressBookError from the edit propagates before anything is written.
   */
  async applyEdit<T>(edit: ResourceListsEdit<T> | null, presEdit?: PresRulesEdit): Promise<{ result: T | undefined; model: AddressBookModel }> {
    const ctx = this.context;
    let result: T | undefined;
    const rl = await this.client.update(
      AUID.resourceLists,
      "index",
      (doc) => {
        result = edit ? edit(doc, ctx) : undefined;
        normalizeResourceLists(doc, ctx);
      },
      { create: emptyResourceLists, maxAttempts: this.maxAttempts },
    );
    await this.client.update(AUID.rlsServices, "index", (doc) => normalizeRlsServices(doc, ctx), {
      create: emptyRlsServices,
      maxAttempts: this.maxAttempts,
    });
    const pr = await this.client.update(
      AUID.presRules,
      "index",
      (doc) => {
        normalizePresRules(doc, ctx);
        presEdit?.(doc, ctx);
      },
      { create: emptyPresRules, maxAttempts: this.maxAttempts },
    );
    const model = parseAddressBook(rl.document, pr.document);
    if (this.identityRules) {
      await this.client.update(AUID.ietfPresRules, "index", (doc) => mirrorIdentityRules(doc, model, ctx), {
        create: emptyPresRules,
        maxAttempts: this.maxAttempts,
      });
    }
    return { result, model };
  }

  /** Recompute every derived list, service and rule (repairs a half-applied edit or a foreign writer). */
  async normalize(): Promise<AddressBookModel> {
    return (await this.applyEdit(null)).model;
  }

  async addContact(input: edits.NewContact): Promise<Contact> {
    const { model, result } = await this.applyEdit((doc, ctx) => edits.addContact(doc, ctx, input, this.gen).id);
    return model.contacts.find((c) => c.id === result)!;
  }

  async editContact(id: string, patch: edits.ContactPatch): Promise<Contact> {
    const { model } = await this.applyEdit((doc, ctx) => edits.editContact(doc, ctx, id, patch, this.gen));
    return model.contacts.find((c) => c.id === id)!;
  }

  async deleteContact(id: string): Promise<AddressBookModel> {
    return (await this.applyEdit((doc) => edits.deleteContact(doc, id))).model;
  }

  async moveContact(id: string, to: string | null, from?: string | null): Promise<Contact> {
    const { model } = await this.applyEdit((doc) => edits.moveContact(doc, id, to, from));
    return model.contacts.find((c) => c.id === id)!;
  }

  async createGroup(input: edits.NewGroup): Promise<Group> {
    const { model, result } = await this.applyEdit((doc) => edits.createGroup(doc, input, this.gen).id);
    return model.groups.find((g) => g.id === result)!;
  }

  async renameGroup(id: string, name: string): Promise<Group> {
    const { model } = await this.applyEdit((doc) => edits.renameGroup(doc, id, name));
    return model.groups.find((g) => g.id === id)!;
  }

  async deleteGroup(id: string, opts: { deleteContacts?: boolean } = {}): Promise<AddressBookModel> {
    return (await this.applyEdit((doc) => edits.deleteGroup(doc, id, opts))).model;
  }

  async allowUri(uri: string, opts: edits.PolicyTargetOptions = {}): Promise<{ change: edits.PolicyChange; model: AddressBookModel }> {
    const { model, result } = await this.applyEdit((doc, ctx) => edits.allowUri(doc, ctx, uri, opts, this.gen));
    return { change: result!, model };
  }

  async blockUri(uri: string, opts: edits.PolicyTargetOptions = {}): Promise<{ change: edits.PolicyChange; model: AddressBookModel }> {
    const { model, result } = await this.applyEdit((doc, ctx) => edits.blockUri(doc, ctx, uri, opts, this.gen));
    return { change: result!, model };
  }

  async unblockUri(uri: string, opts: edits.PolicyTargetOptions = {}): Promise<{ change: edits.PolicyChange; model: AddressBookModel }> {
    const { model, result } = await this.applyEdit((doc) => edits.unblockUri(doc, uri, opts));
    return { change: result!, model };
  }

  async deletePolicy(id: string): Promise<AddressBookModel> {
    return (await this.applyEdit((doc) => edits.deletePolicy(doc, id))).model;
  }

  /** Policy for watchers that are neither granted nor blocked (pres-rules wp_prs_(allow_)unlisted). */
  async setDefaultPolicy(policy: DefaultPolicy): Promise<AddressBookModel> {
    const p = validateDefaultPolicy(policy);
    return (await this.applyEdit(null, (doc, ctx) => setDefaultPolicyInPresRules(doc, ctx, p))).model;
  }
}
