/**
 * Registrar (RFC 3261 §10.3) with RFC 5626 flows, RFC 5627 public GRUUs and the RFC 5923
 * behaviour that matters behind NAT and the WebSocket bridge: every binding remembers the
 * connection its REGISTER arrived on, and requests to that contact go back over it.
 */
import { createHash } from "node:crypto";
import { NameAddr, SipError, createResponse, type SipConnection, type SipRequest, type SipResponse, type TimerApi } from "../sip";
import type { RegistrationBinding } from "../presence";
import type { WriteBehind, StateRow } from "./state-store";

export interface Binding {
  aor: string;
  /** Stable key: instance+reg-id, instance, or the contact URI. */
  key: string;
  /** Contact URI as registered. */
  contact: string;
  /** Contact header parameters other than expires (q, +sip.instance, reg-id, ...), serialized. */
  params: string;
  q?: number;
  instanceId?: string;
  regId?: number;
  pubGruu?: string;
  callId: string;
  cseq: number;
  expiresAt: number;
  /** Connection the REGISTER came over; ids are unique per transport run, so a restored one names no connection of a later run. */
  connectionId?: string;
  transport: "TCP" | "TLS";
  sourceHost: string;
  sourcePort: number;
}

export interface RegistrarOptions {
  /** Default 3600 s when the request says nothing. */
  defaultExpires?: number;
  /** Default 60 s (423 below, RFC 3261 §10.3 step 7). */
  minExpires?: number;
  /** Default 3600 s; longer requests are shortened. */
  maxExpires?: number;
  /** Maximum bindings per AOR (default 20; more → 403). */
  maxBindings?: number;
  now: () => number;
  timers: TimerApi;
  persist?: WriteBehind;
  /** Called whenever the bindings of an AOR changed (presence recomposes registration tuples). */
  onChange?: (aor: string) => void;
  /** Called for every binding a REGISTER adds or refreshes (presence binds publications to flows). */
  onBinding?: (binding: Binding) => void;
  /**
   * After a restart, how long a restored reg-id binding waits for its UA to register again: its
   * flow died with the process (RFC 5626 §4.2). Default 30 000 ms.
   */
  flowGraceMs?: number;
}

const UNQUOTE_RE = /^"|"$/g;

export class Registrar {
  private readonly bindings = new Map<string, Map<string, Binding>>();
  private readonly timers = new Map<string, unknown>();
  private readonly byContact = new Map<string, Binding>();
  private readonly o: Required<Omit<RegistrarOptions, "persist" | "onChange" | "onBinding">> & Pick<RegistrarOptions, "persist" | "onChange" | "onBinding">;

  constructor(options: RegistrarOptions) {
    this.o = { defaultExpires: 3600, minExpires: 60, maxExpires: 3600, maxBindings: 20, flowGraceMs: 30_000, ...options };
  }

  get minExpires(): number {
    return this.o.minExpires;
  }

  /** Live bindings of an AOR. */
  bindingsOf(aor: string): Binding[] {
    const now = this.o.now();
    return [...(this.bindings.get(aor)?.values() ?? [])].filter((b) => b.expiresAt > now);
  }

  /** Bindings in the form presence composition takes. */
  registrationTuplesOf(aor: string): RegistrationBinding[] {
    return this.bindingsOf(aor).map((b) => ({ contact: b.contact, instanceId: b.instanceId, pubGruu: b.pubGruu, q: b.q }));
  }

  /** AORs with at least one binding (users online). */
  get aorCount(): number {
    return this.bindings.size;
  }

  get size(): number {
    let n = 0;
    for (const m of this.bindings.values()) n += m.size;
    return n;
  }

  /**
   * The live binding of `aor` whose contact URI equals `uri` (as registered), for routing requests
   * to it. Only that AOR's own bindings: another user's binding of the same contact never answers.
   */
  findByContact(aor: string, uri: string): Binding | undefined {
    const b = this.byContact.get(contactKey(aor, uri));
    return b && b.expiresAt > this.o.now() ? b : undefined;
  }

  /**
   * Handle an authenticated REGISTER for `aor` (RFC 3261 §10.3 steps 6–8) arriving on `conn`.
   * Throws SipError for 400/423/500 outcomes.
   */
  register(request: SipRequest, aor: string, conn: SipConnection): SipResponse {
    const now = this.o.now();
    const contacts = request.contact;
    const headerExpires = request.expires;
    const callId = request.callId;
    const cseq = request.cseq.seq;
    const current = this.bindings.get(aor) ?? new Map<string, Binding>();
    const gruu = request.supported.includes("gruu");
    let changed = false;

    if (contacts.some((c) => c === "*")) {
      // §10.3 step 6: wildcard only alone and with Expires: 0
      if (contacts.length !== 1 || headerExpires !== 0) throw new SipError(400, "Invalid wildcard Contact");
      for (const b of current.values()) {
        if (b.callId === callId && cseq <= b.cseq) throw new SipError(500, "Out of order CSeq");
      }
      for (const b of [...current.values()]) this.remove(b);
      changed = current.size > 0 || changed;
      this.o.onChange?.(aor);
      return this.okResponse(request, aor, false);
    }

    const updates: Array<{ binding: Binding; expires: number }> = [];
    for (const c of contacts as NameAddr[]) {
      const ep = c.params.get("expires");
      let expires = typeof ep === "string" && /^\d+$/.test(ep) ? Number(ep) : headerExpires ?? this.o.defaultExpires;
      if (expires > 0 && expires < this.o.minExpires) {
        throw new SipError(423, "Interval Too Brief"); // §10.3 step 7, caller adds Min-Expires
      }
      expires = Math.min(expires, this.o.maxExpires);
      const instanceRaw = c.params.get("+sip.instance");
      const instanceId = typeof instanceRaw === "string" ? instanceRaw.replace(UNQUOTE_RE, "") : undefined;
      const regIdRaw = c.params.get("reg-id");
      const regId = typeof regIdRaw === "string" && /^\d+$/.test(regIdRaw) ? Number(regIdRaw) : undefined;
      const uri = c.uri.toString();
      // RFC 5626 §6: a binding is identified by instance-id and reg-id; RFC 5627 by instance-id
      const key = instanceId ? `${instanceId}|${regId ?? ""}` : uri;
      const existing = current.get(key);
      if (existing && existing.callId === callId && cseq <= existing.cseq) throw new SipError(500, "Out of order CSeq"); // §10.3 step 7
      const params = c.params.clone();
      params.delete("expires");
      const q = params.get("q");
      const binding: Binding = {
        aor,
        key,
        contact: uri,
        params: params.toString(),
        q: typeof q === "string" && Number.isFinite(Number(q)) ? Number(q) : undefined,
        instanceId,
        regId,
        pubGruu: instanceId && gruu && uri.startsWith("sip") ? `${aor};gr=${instanceId.replace(/^<|>$/g, "")}` : undefined,
        callId,
        cseq,
        expiresAt: now + expires * 1000,
        connectionId: conn.id,
        transport: conn.transport,
        sourceHost: conn.remoteAddress,
        sourcePort: conn.remotePort,
      };
      updates.push({ binding, expires });
    }
    const added = updates.filter((u) => u.expires > 0 && !current.has(u.binding.key)).length;
    if (current.size + added > this.o.maxBindings) throw new SipError(403, "Too many registrations");
    for (const { binding, expires } of updates) {
      const existing = current.get(binding.key);
      if (expires === 0) {
        if (existing) this.remove(existing);
      } else {
        this.put(binding);
      }
      changed = true;
    }
    if (changed) this.o.onChange?.(aor);
    for (const { binding, expires } of updates) if (expires > 0) this.o.onBinding?.(binding);
    const supportsOutbound = request.supported.includes("outbound") && updates.some((u) => u.binding.regId !== undefined);
    return this.okResponse(request, aor, supportsOutbound);
  }

  private okResponse(request: SipRequest, aor: string, outbound: boolean): SipResponse {
    const now = this.o.now();
    const res = createResponse(request, 200);
    for (const b of this.bindingsOf(aor)) {
      let v = `<${b.contact}>${b.params};expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`;
      if (b.pubGruu) v += `;pub-gruu="${b.pubGruu}"`; // RFC 5627 §5.4
      res.addHeader("Contact", v);
    }
    if (outbound) res.addHeader("Require", "outbound"); // RFC 5626 §6
    res.addHeader("Date", new Date(this.o.now()).toUTCString());
    return res;
  }

  private put(b: Binding): void {
    let m = this.bindings.get(b.aor);
    if (!m) this.bindings.set(b.aor, (m = new Map()));
    const prev = m.get(b.key);
    if (prev && this.byContact.get(contactKey(prev.aor, prev.contact)) === prev) this.byContact.delete(contactKey(prev.aor, prev.contact));
    m.set(b.key, b);
    this.byContact.set(contactKey(b.aor, b.contact), b);
    this.schedule(b);
    this.persist(b);
  }

  private remove(b: Binding): void {
    const m = this.bindings.get(b.aor);
    m?.delete(b.key);
    if (this.byContact.get(contactKey(b.aor, b.contact)) === b) this.byContact.delete(contactKey(b.aor, b.contact));
    if (m && m.size === 0) this.bindings.delete(b.aor);
    const tk = `${b.aor}|${b.key}`;
    const t = this.timers.get(tk);
    if (t !== undefined) this.o.timers.clearTimeout(t);
    this.timers.delete(tk);
    this.o.persist?.remove("registration", tk);
  }

  private schedule(b: Binding): void {
    const tk = `${b.aor}|${b.key}`;
    const old = this.timers.get(tk);
    if (old !== undefined) this.o.timers.clearTimeout(old);
    this.timers.set(
      tk,
      this.o.timers.setTimeout(() => {
        this.timers.delete(tk);
        const cur = this.bindings.get(b.aor)?.get(b.key);
        if (cur === b) {
          this.remove(b);
          this.o.onChange?.(b.aor);
        }
      }, Math.max(0, b.expiresAt - this.o.now())),
    );
  }

  private persist(b: Binding): void {
    this.o.persist?.mark("registration", `${b.aor}|${b.key}`, () => {
      const cur = this.bindings.get(b.aor)?.get(b.key);
      return cur ? { data: JSON.stringify(cur), expiresAt: cur.expiresAt } : null;
    });
  }

  /**
   * The connection (flow) `connectionId` closed. RFC 5626 §5.2/§6: a binding registered with a
   * reg-id is bound to its flow; when the flow fails the binding goes with it (the UA registers
   * again over a new flow). A browser tab behind the bridge is such a UA: closing the tab closes
   * the flow, and its registration-derived presence turns closed at once.
   */
  /** Remove `aor`'s bindings of `contact` (the operator ended the registration); returns them. */
  removeContact(aor: string, contact: string): Binding[] {
    const gone = [...(this.bindings.get(aor)?.values() ?? [])].filter((b) => b.contact === contact);
    for (const b of gone) this.remove(b);
    if (gone.length) this.o.onChange?.(aor);
    return gone;
  }

  flowFailed(connectionId: string): void {
    const gone: Binding[] = [];
    for (const m of this.bindings.values()) {
      for (const b of m.values()) if (b.regId !== undefined && b.connectionId === connectionId) gone.push(b);
    }
    for (const b of gone) this.remove(b);
    for (const aor of new Set(gone.map((b) => b.aor))) this.o.onChange?.(aor);
  }

  /** Remove every binding of `aor` (the account ended); true when there were any. */
  removeAll(aor: string): boolean {
    const m = this.bindings.get(aor);
    if (!m) return false;
    for (const b of [...m.values()]) this.remove(b);
    this.o.onChange?.(aor);
    return true;
  }

  /** Restore persisted bindings (expired rows are dropped). */
  restore(rows: StateRow[]): void {
    const now = this.o.now();
    for (const r of rows) {
      let b: Binding;
      try {
        b = JSON.parse(r.data) as Binding;
      } catch {
        continue;
      }
      if (b.expiresAt <= now) {
        this.o.persist?.remove("registration", r.key);
        continue;
      }
      // its flow died with the process: kept only until the UA had time to register again
      if (b.regId !== undefined) b.expiresAt = Math.min(b.expiresAt, now + this.o.flowGraceMs);
      let m = this.bindings.get(b.aor);
      if (!m) this.bindings.set(b.aor, (m = new Map()));
      m.set(b.key, b);
      this.byContact.set(contactKey(b.aor, b.contact), b);
      this.schedule(b);
    }
  }

  dispose(): void {
    for (const t of this.timers.values()) this.o.timers.clearTimeout(t);
    this.timers.clear();
  }
}

function contactKey(aor: string, contact: string): string {
  return `${aor}\u0000${contact}`;
}

/** A stable short id for a binding (used in tuple ids and logs). */
export function bindingId(b: Binding): string {
  return createHash("sha1").update(`${b.aor}|${b.key}`).digest("hex").slice(0, 12);
}
