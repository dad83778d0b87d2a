/**
 * Virtual presentities (the OpenSIPS workshop's presence injection): a SIP address of a served
 * domain with presence but no account — weather@example.test, support@example.test, a server's
 * load — whose presence operators set through the console or the provisioning API. Watchers
 * subscribe to it exactly as to a user (directly or as a member of their buddy list, RFC 4662).
 *
 * Storage: a `VirtualPresentity` row says the address exists (the SIP server's directory reads
 * it); everything the presence server needs lives in the presentity's own XCAP tree, read by the
 * same code that serves users:
 * - its presence is its **pidf-manipulation** document (RFC 4827): with no device publishing,
 *   the presence agent composes exactly that document (presence-composition.ts), and every
 *   write's change event makes it notify the watchers at once; it survives restarts;
 * - who may watch is its IETF **pres-rules** document (RFC 5025), written from a list of domains
 *   and addresses (lib/presence/watcher-rules.ts); by default every user of its own domain.
 *
 * A virtual presentity is created by the first presence set for its address (the API's `PUT
 * …/presence`, the console's "Add"), never by reading. Its address may not be an account's, an
 * account's derived URI (`alice+…@`) or an RLS service URI; no account can be created on its
 * address while it exists. Every change is audited (`presentity.*`).
 */
import type { Db } from "../db";
import {
  AUID,
  composePidf,
  composeWatcherRules,
  parsePidf,
  parsePresRules,
  PresencePayloadError,
  summarizePresence,
  watchersOfRules,
  type ExtendedStatus,
} from "../presence";
import { canonicalAor, parseAor } from "../sip/aor";
import { processBus, type ProcessBus } from "../process-wide";
import { accountAddress, normalizeDomain } from "./address";
import { accountsChanged } from "./changes";
import { addressTaken } from "./department-lists";
import { AccountError, actorOf, audit, type Actor } from "./service";

export type PresentityAvailability = ExtendedStatus;

/** Presence as operators give it: Herald turns it into PIDF. */
export interface PresenceInput {
  availability: PresentityAvailability;
  note?: string | null;
  /** RPID activities (RFC 4480 §3.2), e.g. `vacation`, `meeting`; default derived from availability. */
  activities?: string[];
}

/** Who may watch: users of these domains and these addresses (`user@domain`). */
export interface Watchers {
  domains: string[];
  addresses: string[];
}

export interface PresentityView {
  /** user@domain */
  address: string;
  /** What its presence document comes to (lib/presence/presence-summary.ts). */
  availability: PresentityAvailability;
  note: string | null;
  watchers: Watchers;
  createdAt: Date;
  updatedAt: Date;
}

/** The presentity's XCAP documents (`<auid>/users/sip:<address>/index`). */
export interface PresentityDocuments {
  get(address: string, auid: string): Promise<string | null>;
  /** Throws AccountError("malformed-document") when the XCAP server refuses the document. */
  put(address: string, auid: string, xml: string): Promise<void>;
  remove(address: string, auid: string): Promise<void>;
}

export interface VirtualPresentitiesOptions {
  db: Db;
  documents: PresentityDocuments;
  /** Told when one is deleted, before its documents go (the embedded SIP server ends its watchers' subscriptions). */
  onDeleted?: (address: string) => void;
  /** Most virtual presentities (VIRTUAL_PRESENTITIES_MAX). Default 1000. */
  maxPresentities?: number;
  /** Longest note in characters as people count them (NOTE_MAX_CHARS). Default 200. */
  noteMaxChars?: number;
}

/** Most domains or addresses in a watcher list. */
export const MAX_WATCHER_ENTRIES = 100;
/** Most RPID activities in one presence. */
export const MAX_ACTIVITIES = 8;
const ACTIVITY_RE = /^[a-z][a-z0-9-]{0,63}$/;
const PRES_RULES_AUID = AUID.ietfPresRules;

/** Deleted virtual presentities, for the embedded SIP server of this process (lib/cli/start.ts). */
export function presentityRemovals(): ProcessBus<string> {
  return processBus<string>("__heraldPresentityRemovals");
}

const graphemes = (s: string) => Array.from(new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(s)).length;

/** The PIDF Herald publishes for `presence` (Blink's layout, lib/presence/pidf-composer.ts). */
export function presencePidf(address: string, presence: PresenceInput): string {
  const offline = presence.availability === "offline";
  return composePidf({
    entity: `sip:${address}`,
    basic: offline ? "closed" : "open",
    ...(offline ? {} : { extended: presence.availability }),
    note: presence.note?.trim() || undefined,
    activities: presence.activities,
  });
}

export function createVirtualPresentities(o: VirtualPresentitiesOptions) {
  const { db, documents } = o;
  const max = o.maxPresentities ?? 1000;
  const noteMax = o.noteMaxChars ?? 200;

  /** Lower-case `user@domain` (accounts keep the user part as typed: `typed` for comparing with them). */
  function addressOf(input: string): { address: string; user: string; typed: string; domain: string } {
    try {
      const a = accountAddress(input);
      return { address: a.address.toLowerCase(), user: a.user.toLowerCase(), typed: a.user, domain: a.domain };
    } catch (err) {
      throw new AccountError("malformed-address", (err as Error).message);
    }
  }

  async function find(input: string) {
    const { address } = addressOf(input);
    const row = await db.virtualPresentity.findUnique({ where: { address } });
    if (!row) throw new AccountError("unknown-account", `no virtual presentity ${address}`);
    return row;
  }

  async function view(row: { address: string; createdAt: Date; updatedAt: Date }): Promise<PresentityView> {
    const [pidf, rules] = await Promise.all([documents.get(row.address, AUID.pidfManipulation), documents.get(row.address, PRES_RULES_AUID)]);
    let availability: PresentityAvailability = "offline";
    let note: string | null = null;
    if (pidf) {
      const s = summarizePresence(parsePidf(pidf));
      availability = s.availability;
      note = s.note ?? null;
    }
    const w = rules ? watchersOfRules(parsePresRules(rules)) : { domains: [], addresses: [] };
    return { address: row.address, availability, note, watchers: { domains: w.domains, addresses: w.addresses.map((a) => a.replace(/^sip:/, "")) }, createdAt: row.createdAt, updatedAt: row.updatedAt };
  }

  /** A raw PIDF body checked: well-formed PIDF (RFC 3863 §4) whose entity is the presentity. */
  function checkPidf(address: string, xml: string): string {
    let entity: string;
    try {
      entity = parsePidf(xml).entity;
    } catch (err) {
      if (err instanceof PresencePayloadError) throw new AccountError("malformed-document", `not a PIDF document: ${err.message}`);
      throw err;
    }
    const e = entity.trim().replace(/^pres:/i, "sip:");
    if (canonicalAor(e).toLowerCase() !== `sip:${address}`) throw new AccountError("malformed-document", `the PIDF entity ${JSON.stringify(entity)} is not sip:${address}`);
    return xml;
  }

  function checkPresence(p: PresenceInput): void {
    const note = p.note?.trim() ?? "";
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(note)) throw new AccountError("invalid-value", "the note must not contain control characters");
    if (graphemes(note) > noteMax) throw new AccountError("invalid-value", `the note is ${graphemes(note)} characters long; at most ${noteMax}`);
    if ((p.activities?.length ?? 0) > MAX_ACTIVITIES) throw new AccountError("invalid-value", `at most ${MAX_ACTIVITIES} activities`);
    for (const a of p.activities ?? []) if (!ACTIVITY_RE.test(a)) throw new AccountError("invalid-value", `activity ${JSON.stringify(a)} is not an RPID activity token (lower-case letters, digits, -)`);
  }

  function normalizeWatchers(w: Watchers): Watchers {
    if (w.domains.length > MAX_WATCHER_ENTRIES || w.addresses.length > MAX_WATCHER_ENTRIES) throw new AccountError("invalid-value", `at most ${MAX_WATCHER_ENTRIES} domains and ${MAX_WATCHER_ENTRIES} addresses`);
    const domains = w.domains.map((d) => {
      try {
        return normalizeDomain(d);
      } catch (err) {
        throw new AccountError("invalid-value", (err as Error).message);
      }
    });
    const addresses = w.addresses.map((a) => {
      try {
        const p = parseAor(a, { fullDomain: true });
        return `${p.user}@${p.host}`;
      } catch (err) {
        throw new AccountError("invalid-value", (err as Error).message);
      }
    });
    return { domains: [...new Set(domains)], addresses: [...new Set(addresses)] };
  }

  /** The address is free for a virtual presentity: a served domain, and nobody else's address. */
  async function checkFree(a: { address: string; user: string; typed: string; domain: string }): Promise<void> {
    if (!(await db.domain.findUnique({ where: { name: a.domain } }))) throw new AccountError("unknown-domain", `unknown domain ${a.domain} (add it first: herald domains add ${a.domain})`);
    // an account's address, one derived from an account (`alice+presence@…` is alice's list), a service URI, a department list
    const taken = (await addressTaken(db, a.address, a.domain)) ?? (a.typed !== a.user ? await addressTaken(db, `${a.typed}@${a.domain}`, a.domain) : undefined);
    if (taken) throw new AccountError("duplicate-account", taken);
    if (await db.departmentList.findUnique({ where: { address: a.address } })) throw new AccountError("duplicate-account", `${a.address} is a department list`);
    if ((await db.virtualPresentity.count()) >= max) throw new AccountError("invalid-value", `at most ${max} virtual presentities (VIRTUAL_PRESENTITIES_MAX)`);
  }

  return {
    /** Every virtual presentity, in address order. */
    async list(): Promise<PresentityView[]> {
      const rows = await db.virtualPresentity.findMany({ orderBy: { address: "asc" }, take: max });
      return Promise.all(rows.map(view));
    },

    async get(input: string): Promise<PresentityView | null> {
      const { address } = addressOf(input);
      const row = await db.virtualPresentity.findUnique({ where: { address } });
      return row ? view(row) : null;
    },

    /**
     * Set the presence of `input` (created on first use, with every user of its domain as
     * watchers): structured (Herald composes the PIDF) or a raw PIDF document. Everything is
     * checked before anything changes.
     */
    async setPresence(input: string, presence: PresenceInput | { pidf: string }, actor?: Actor): Promise<{ presentity: PresentityView; created: boolean }> {
      const a = addressOf(input);
      let xml: string;
      if ("pidf" in presence) xml = checkPidf(a.address, presence.pidf);
      else {
        checkPresence(presence);
        xml = presencePidf(a.address, presence);
      }
      let row = await db.virtualPresentity.findUnique({ where: { address: a.address } });
      let created = false;
      if (!row) {
        await checkFree(a);
        try {
          row = await db.virtualPresentity.create({ data: { address: a.address, domain: a.domain } });
          created = true;
          accountsChanged(); // the SIP server's cached "no such presentity" must go
        } catch (err) {
          // created by a concurrent request meanwhile: set its presence
          row = await db.virtualPresentity.findUnique({ where: { address: a.address } });
          if (!row) throw err;
        }
      }
      try {
        if (created) await documents.put(a.address, PRES_RULES_AUID, composeWatcherRules({ domains: [a.domain], addresses: [] }));
        await documents.put(a.address, AUID.pidfManipulation, xml);
      } catch (err) {
        if (created) {
          await documents.remove(a.address, PRES_RULES_AUID).catch(() => undefined);
          await db.virtualPresentity.delete({ where: { id: row.id } });
          accountsChanged();
        }
        throw err;
      }
      row = await db.virtualPresentity.update({ where: { id: row.id }, data: { updatedAt: new Date() } });
      const v = await view(row);
      const by = actorOf(actor);
      if (created) await audit(db, { ...by, action: "presentity.add", target: a.address, detail: `watchers=${a.domain}` });
      await audit(db, { ...by, action: "presentity.presence", target: a.address, detail: `${"pidf" in presence ? "pidf " : ""}availability=${v.availability}${v.note ? ` note=${v.note}` : ""}` });
      return { presentity: v, created };
    },

    /** Who may watch `input`: every user of `domains` and each of `addresses`; nobody else. */
    async setWatchers(input: string, watchers: Watchers, actor?: Actor): Promise<PresentityView> {
      const w = normalizeWatchers(watchers);
      const row = await find(input);
      await documents.put(row.address, PRES_RULES_AUID, composeWatcherRules({ domains: w.domains, addresses: w.addresses.map((x) => `sip:${x}`) }));
      const v = await view(await db.virtualPresentity.update({ where: { id: row.id }, data: { updatedAt: new Date() } }));
      await audit(db, { ...actorOf(actor), action: "presentity.watchers", target: row.address, detail: `domains=${w.domains.join(",")} addresses=${w.addresses.join(",")}` });
      return v;
    },

    /** Delete it: its watchers' subscriptions end (`terminated;reason=noresource`), its documents go. */
    async remove(input: string, actor?: Actor): Promise<void> {
      const row = await find(input);
      await db.virtualPresentity.delete({ where: { id: row.id } });
      accountsChanged();
      o.onDeleted?.(row.address);
      await documents.remove(row.address, AUID.pidfManipulation);
      await documents.remove(row.address, PRES_RULES_AUID);
      await audit(db, { ...actorOf(actor), action: "presentity.delete", target: row.address });
    },
  };
}

export type VirtualPresentities = ReturnType<typeof createVirtualPresentities>;
