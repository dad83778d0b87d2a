/**
 * A population for `npm run bench -- population`, written straight into the database (no HTTP):
 * accounts u00000… with one password (hashed once), and each account's Blink-style address book as
 * the portal writes it — resource-lists, rls-services and OMA pres-rules `index`, built with the
 * portal's own builders (lib/xcap/addressbook: addContact, then the normalisers) — plus the
 * rls-services service-URI claims the XCAP store keeps beside them (RlsServiceUri).
 *
 * Contacts are symmetric: user i has the `contacts` users nearest to it on a ring (i±1, i±2, …),
 * each with the portal's default handling (presence allowed and subscribed), so every buddy may
 * see every other and each list subscription has exactly `contacts` members.
 */
import { randomBytes } from "node:crypto";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { addDomain } from "../../lib/accounts/service";
import { digestHa1, hashPassword } from "../../lib/accounts/password";
import type { Db } from "../../lib/db";
import { serializeXml } from "../../lib/xml";
import {
  AUID,
  addContact,
  emptyPresRules,
  emptyResourceLists,
  emptyRlsServices,
  normalizePresRules,
  normalizeResourceLists,
  normalizeRlsServices,
  rlsServiceUri,
  type AddressBookContext,
} from "../../lib/xcap/addressbook";

export interface PopulationOptions {
  accounts: number;
  /** Contacts per address book (even; at most accounts − 1). */
  contacts: number;
  domain: string;
  password: string;
  /** The public XCAP root Herald will run with (written into list references, as the portal does). */
  xcapRoot: string;
  /** Rows per createMany (SQLite's bound-parameter limit). Default 500. */
  batch?: number;
  /**
   * Worker threads building the documents (the builders cost about 10 ms per 50-contact book)
   * while this thread writes them. Default 0: built here.
   */
  workers?: number;
}

type BuildInput = Pick<PopulationOptions, "accounts" | "contacts" | "domain" | "xcapRoot">;
type Built = { from: number; books: Array<Array<{ auid: string; content: string }>> };

export const userName = (i: number): string => `u${String(i).padStart(5, "0")}`;

/** The ring neighbours of user i: i+1, i−1, i+2, i−2, … (`contacts` of them). */
export function contactsOf(i: number, accounts: number, contacts: number): number[] {
  const out: number[] = [];
  for (let k = 1; out.length < contacts; k++) {
    out.push((i + k) % accounts);
    if (out.length < contacts) out.push((i - k + accounts) % accounts);
  }
  return out;
}

/** The three documents of user i's address book, as the portal's AddressBook writes them. */
export function addressBookDocuments(i: number, o: Pick<PopulationOptions, "accounts" | "contacts" | "domain" | "xcapRoot">): Array<{ auid: string; content: string }> {
  const xui = `sip:${userName(i)}@${o.domain}`;
  const ctx: AddressBookContext = { xui, xcapRoot: o.xcapRoot };
  const rl = emptyResourceLists();
  for (const j of contactsOf(i, o.accounts, o.contacts)) addContact(rl, ctx, { name: `User ${j}`, uris: [`sip:${userName(j)}@${o.domain}`] });
  normalizeResourceLists(rl, ctx);
  const rls = emptyRlsServices();
  normalizeRlsServices(rls, ctx);
  const pr = emptyPresRules();
  normalizePresRules(pr, ctx);
  return [
    { auid: AUID.resourceLists, content: serializeXml(rl) },
    { auid: AUID.rlsServices, content: serializeXml(rls) },
    { auid: AUID.presRules, content: serializeXml(pr) },
  ];
}

/** Seed `accounts` accounts and their address books; returns each account's id by index. */
export async function seedPopulation(db: Db, o: PopulationOptions, progress: (done: number) => void = () => {}): Promise<number[]> {
  if (o.contacts >= o.accounts) throw new Error(`--contacts (${o.contacts}) must be below --accounts (${o.accounts})`);
  const batch = o.batch ?? 500;
  const d = await addDomain(db, o.domain);
  const passwordHash = await hashPassword(o.password);
  for (let i = 0; i < o.accounts; i += batch) {
    const data = [];
    for (let j = i; j < Math.min(o.accounts, i + batch); j++) {
      const u = userName(j);
      data.push({ username: u, domainId: d.id, address: `${u}@${o.domain}`, passwordHash, ha1: digestHa1(u, o.domain, o.password), ha1Sha256: digestHa1(u, o.domain, o.password, "sha256") });
    }
    await db.account.createMany({ data });
  }
  const ids = new Map((await db.account.findMany({ select: { id: true, address: true } })).map((a) => [a.address, a.id]));
  let written = 0;
  const write = async ({ from, books }: Built) => {
    const docs = [];
    const claims = [];
    for (const [k, book] of books.entries()) {
      const xui = `sip:${userName(from + k)}@${o.domain}`;
      for (const doc of book) docs.push({ auid: doc.auid, scope: "users", xui, path: "index", content: doc.content, etag: randomBytes(8).toString("hex") });
      // the store's claim of each service URI, keyed by its document (PrismaXcapStore's docId)
      const path = JSON.stringify([AUID.rlsServices, "users", xui, "index"]);
      for (const event of ["presence", "dialog"] as const) claims.push({ uri: rlsServiceUri(xui, event), xui, path });
    }
    await db.xcapDocument.createMany({ data: docs });
    await db.rlsServiceUri.createMany({ data: claims });
    written += books.length;
    progress(written);
  };
  const input: BuildInput = { accounts: o.accounts, contacts: o.contacts, domain: o.domain, xcapRoot: o.xcapRoot };
  const starts = Array.from({ length: Math.ceil(o.accounts / batch) }, (_, k) => k * batch);
  const workers = Math.min(o.workers ?? 0, starts.length);
  if (!workers) {
    for (const from of starts) await write(buildBatch(input, from, batch));
  } else {
    // worker w builds batches w, w + workers, …; writes are chained in arrival order
    let chain = Promise.resolve();
    await Promise.all(
      Array.from({ length: workers }, (_, w) =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(WORKER_BOOT, { eval: true, workerData: { input, starts: starts.filter((_, k) => k % workers === w), batch } });
          worker.on("message", (b: Built) => (chain = chain.then(() => write(b))));
          worker.once("error", reject);
          worker.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`document builder exited with ${code}`))));
        }),
      ),
    );
    await chain;
  }
  return Array.from({ length: o.accounts }, (_, i) => ids.get(`${userName(i)}@${o.domain}`)!);
}

/** A worker thread runs this module through tsx's loader (registered in the thread itself). */
const WORKER_BOOT = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;

function buildBatch(input: BuildInput, from: number, batch: number): Built {
  const books = [];
  for (let i = from; i < Math.min(input.accounts, from + batch); i++) books.push(addressBookDocuments(i, input));
  return { from, books };
}

if (!isMainThread && (workerData as { input?: BuildInput })?.input) {
  const d = workerData as { input: BuildInput; starts: number[]; batch: number };
  for (const from of d.starts) parentPort!.postMessage(buildBatch(d.input, from, d.batch));
}
