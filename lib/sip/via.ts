/** Via header values (RFC 3261 §20.42, RFC 3581 rport). */
import { SipParseError } from "./parse-error";
import { Params, TOKEN_RE } from "./syntax";
import { parseHostPort } from "./uri";

const SENT_PROTOCOL_RE = /^([^\s/]+)[ \t]*\/[ \t]*([^\s/]+)[ \t]*\/[ \t]*([^\s/;]+)[ \t]+([^;]+?)[ \t]*(?:;(.*))?$/s;
const RPORT_RE = /^\d{1,5}$/;
export const BRANCH_MAGIC_COOKIE = "z9hG4bK";

export interface ViaInit {
  protocol?: string;
  version?: string;
  transport: string;
  host: string;
  port?: number;
  params?: Record<string, string | null> | Params;
}

export class Via {
  protocol: string;
  version: string;
  /** Upper-case transport token (UDP, TCP, TLS, WS, WSS, SCTP...). */
  transport: string;
  host: string;
  port?: number;
  params: Params;

  constructor(init: ViaInit) {
    this.protocol = init.protocol ?? "SIP";
    this.version = init.version ?? "2.0";
    this.transport = init.transport.toUpperCase();
    this.host = init.host;
    this.port = init.port;
    this.params = Params.from(init.params);
  }

  static parse(text: string): Via {
    const m = SENT_PROTOCOL_RE.exec(text.trim());
    if (!m) throw new SipParseError("INVALID_VIA", "malformed Via");
    if (!TOKEN_RE.test(m[1]) || !TOKEN_RE.test(m[2]) || !TOKEN_RE.test(m[3])) {
      throw new SipParseError("INVALID_VIA", "malformed Via sent-protocol");
    }
    let hp: { host: string; port?: number };
    try {
      hp = parseHostPort(m[4]);
    } catch {
      throw new SipParseError("INVALID_VIA", "malformed Via sent-by");
    }
    const params = m[5] === undefined ? new Params() : Params.parse(m[5], "INVALID_VIA");
    if (m[5] !== undefined && params.size === 0) throw new SipParseError("INVALID_VIA", "empty Via parameter");
    const via = new Via({ protocol: m[1], version: m[2], transport: m[3], host: hp.host, port: hp.port, params });
    const rport = params.get("rport");
    if (typeof rport === "string" && !RPORT_RE.test(rport)) throw new SipParseError("INVALID_VIA", "invalid rport");
    return via;
  }

  get branch(): string | undefined {
    const b = this.params.get("branch");
    return typeof b === "string" ? b : undefined;
  }
  set branch(v: string | undefined) {
    if (v === undefined) this.params.delete("branch");
    else this.params.set("branch", v);
  }
  get received(): string | undefined {
    const r = this.params.get("received");
    return typeof r === "string" ? r : undefined;
  }
  set received(v: string | undefined) {
    if (v === undefined) this.params.delete("received");
    else this.params.set("received", v);
  }
  /** `true` when `;rport` is present without a value (client asks for it, RFC 3581), the port when filled in. */
  get rport(): number | true | undefined {
    const r = this.params.get("rport");
    if (r === undefined) return undefined;
    return r === null ? true : Number(r);
  }
  set rport(v: number | true | undefined) {
    if (v === undefined) this.params.delete("rport");
    else this.params.set("rport", v === true ? null : String(v));
  }
  /** RFC 3261 §17.2.3: branch carries the magic cookie. */
  get isRfc3261Branch(): boolean {
    return this.branch?.startsWith(BRANCH_MAGIC_COOKIE) ?? false;
  }
  get reliable(): boolean {
    return this.transport !== "UDP";
  }

  toString(): string {
    const hp = this.port !== undefined ? `${this.host}:${this.port}` : this.host;
    return `${this.protocol}/${this.version}/${this.transport} ${hp}${this.params.toString()}`;
  }
  clone(): Via {
    return new Via({ ...this, params: this.params.clone() });
  }
}
