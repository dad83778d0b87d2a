/**
 * XCAP PUT path micro-benchmark (issue 13), in one process, no network: the XML parse of a
 * --contacts-entry resource-lists document (lib/xml.ts parseXml) and the XCAP core
 * (lib/xcap/server handleXcapRequest over a MemoryXcapStore) answering a whole-document PUT of it,
 * a whole-document GET and a node-selector GET. With --before=DIR the same code of the checkout in
 * DIR (e.g. /work/main, with its node_modules) runs alternately with this one, round by round, so
 * both see the same machine load. Prints JSON lines (µs per operation, after/before ratios):
 *   npm run bench -- xcap-put-path [--before=/work/main] [--rounds=5] [--ms=600] [--contacts=200]
 */
import path from "node:path";
import { numberArg, stringArg } from "./args";
import { numberedContacts, resourceListsXml } from "../helpers/kamailio-documents";

const ROUNDS = numberArg("rounds", 5);
const MS = numberArg("ms", 600);
const CONTACTS = numberArg("contacts", 200);
const BEFORE = stringArg("before");
const HERE = path.resolve(import.meta.dirname, "..", "..");

const documentXml = resourceListsXml({ buddies: numberedContacts(CONTACTS, "example.test") });
const body = new TextEncoder().encode(documentXml);
const RL = "resource-lists/users/sip:alice@example.test/index";
const NODE = `${RL}/~~/resource-lists/list%5b@name=%22buddies%22%5d/entry%5b@uri=%22sip:buddy0100@example.test%22%5d`;

type Handle = (req: Record<string, unknown>, store: unknown) => Promise<{ status: number; body: Uint8Array }>;

interface Checkout {
  name: string;
  parseXml: (input: string) => unknown;
  handle: Handle;
  store: unknown;
}

async function load(name: string, dir: string): Promise<Checkout> {
  const xml = (await import(path.join(dir, "lib/xml.ts"))) as { parseXml: (s: string) => unknown };
  const core = (await import(path.join(dir, "lib/xcap/server/index.ts"))) as { handleXcapRequest: Handle; MemoryXcapStore: new () => unknown };
  return { name, parseXml: xml.parseXml, handle: core.handleXcapRequest, store: new core.MemoryXcapStore() };
}

const request = (method: string, p: string, withBody: boolean) => ({
  method,
  path: p,
  query: "",
  headers: withBody ? { "content-type": "application/resource-lists+xml" } : {},
  body: withBody ? body : new Uint8Array(),
  user: { aor: "alice@example.test" },
  rootUri: "http://127.0.0.1/xcap-root",
});

const OPS: Record<string, (c: Checkout) => Promise<unknown> | unknown> = {
  parse: (c) => c.parseXml(documentXml),
  "put-document": async (c) => {
    const r = await c.handle(request("PUT", RL, true), c.store);
    if (r.status !== 200 && r.status !== 201) throw new Error(`${c.name}: PUT answered ${r.status}`);
  },
  "get-document": async (c) => {
    const r = await c.handle(request("GET", RL, false), c.store);
    if (r.status !== 200) throw new Error(`${c.name}: GET answered ${r.status}`);
  },
  "get-node": async (c) => {
    const r = await c.handle(request("GET", NODE, false), c.store);
    if (r.status !== 200) throw new Error(`${c.name}: node GET answered ${r.status}`);
  },
};

/** µs per call of `op` over about MS ms. */
async function measure(c: Checkout, op: (c: Checkout) => Promise<unknown> | unknown): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < MS) {
    for (let k = 0; k < 20; k++) await op(c);
    n += 20;
    t = performance.now();
  }
  return ((t - t0) * 1000) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const checkouts = [await load("after", HERE)];
if (BEFORE) checkouts.unshift(await load("before", path.resolve(BEFORE)));
process.stdout.write(JSON.stringify({ bench: "xcap-put-path", documentBytes: body.byteLength, contacts: CONTACTS, rounds: ROUNDS, ms: MS, before: BEFORE ?? null }) + "\n");
for (const c of checkouts) await OPS["put-document"]!(c); // the document the GETs read
for (const [opName, op] of Object.entries(OPS)) {
  const us: Record<string, number[]> = Object.fromEntries(checkouts.map((c) => [c.name, []]));
  for (const c of checkouts) await measure(c, op); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    // alternate the order round by round
    const order = r % 2 ? [...checkouts].reverse() : checkouts;
    for (const c of order) us[c.name]!.push(await measure(c, op));
  }
  const out: Record<string, unknown> = { bench: "xcap-put-path", op: opName };
  for (const c of checkouts) out[`${c.name}Us`] = +median(us[c.name]!).toFixed(1);
  if (BEFORE) out.speedup = +(median(us.before!) / median(us.after!)).toFixed(2);
  process.stdout.write(JSON.stringify(out) + "\n");
}
