/**
 * Dialogs (RFC 3261 §12) as used by SUBSCRIBE/NOTIFY (RFC 6665 §4.1.2, §4.2.2): id, CSeq
 * spaces, route set and remote target, building in-dialog requests, and a plain-JSON form so the
 * presence server can persist dialogs and restore them after a restart.
 */
import { CSeq } from "./cseq";
import type { HeaderValue, SipBody, SipRequest, SipResponse } from "./message";
import { SipRequest as Request } from "./message";
import { NameAddr } from "./name-addr";
import { detachString, internString } from "./strings";
import { quote } from "./syntax";
import { SipUri, parseUri } from "./uri";
import { generateBranch } from "./ua-helpers";
import { Via } from "./via";

export interface DialogId {
  callId: string;
  localTag: string;
  remoteTag: string;
}

/** JSON-safe snapshot. */
export interface DialogState {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** From/To URIs (as written) for the local and remote party. */
  localUri: string;
  remoteUri: string;
  localDisplayName?: string;
  remoteDisplayName?: string;
  /** Last CSeq we sent (0 = none yet). */
  localCSeq: number;
  /** Last CSeq received from the peer, if any. */
  remoteCSeq?: number;
  /** Route set, each a name-addr string, in the order to put in Route headers. */
  routeSet: string[];
  /** Remote target URI (from the peer's Contact). */
  remoteTarget: string;
  /** §12.1.1: request arrived over TLS with a sips Request-URI. */
  secure: boolean;
}

export function dialogIdToString(id: DialogId): string {
  return `${id.callId};${id.localTag};${id.remoteTag}`;
}

export interface InDialogRequestOptions {
  via: { transport: string; host: string; port?: number; branch?: string };
  contact?: NameAddr | string;
  headers?: Array<[string, HeaderValue]>;
  body?: SipBody;
  contentType?: string;
  maxForwards?: number;
}

const NO_ROUTES: readonly string[] = Object.freeze([]);

export class Dialog {
  // Plain fields (not a state object): one compact object per dialog. Strings are detached from
  // the message they came from and AORs/targets are shared between dialogs (strings.ts). The id
  // is kept once, as `dialogIdToString` gives it (the map key of a subscription, which shares this
  // string); Call-ID and tags are read back from it at the two positions kept (small integers).
  private readonly _idString: string;
  private readonly _callIdEnd: number;
  private readonly _localTagEnd: number;
  private localUri: string;
  private remoteUri: string;
  private localDisplayName: string | undefined;
  private remoteDisplayName: string | undefined;
  private _localCSeq: number;
  private _remoteCSeq: number | undefined;
  private _routeSet: readonly string[];
  private _remoteTarget: string;
  private secure: boolean;

  private constructor(state: DialogState) {
    this._idString = detachString(dialogIdToString(state));
    this._callIdEnd = state.callId.length;
    this._localTagEnd = this._callIdEnd + 1 + state.localTag.length;
    this.localUri = internString(state.localUri);
    this.remoteUri = internString(state.remoteUri);
    this.localDisplayName = state.localDisplayName === undefined ? undefined : internString(state.localDisplayName);
    this.remoteDisplayName = state.remoteDisplayName === undefined ? undefined : internString(state.remoteDisplayName);
    this._localCSeq = state.localCSeq;
    this._remoteCSeq = state.remoteCSeq;
    this._routeSet = state.routeSet.length ? state.routeSet.map(internString) : NO_ROUTES;
    this._remoteTarget = internString(state.remoteTarget);
    this.secure = state.secure;
  }

  /**
   * UAS side (§12.1.1), e.g. the notifier accepting a SUBSCRIBE: route set = Record-Route in order,
   * remote target = Contact, remote CSeq = request CSeq, local tag = the To tag we answer with.
   */
  static createUas(request: SipRequest, localTag: string): Dialog {
    const contact = firstContact(request);
    const remoteTag = request.from.tag;
    if (remoteTag === undefined) throw new Error("request without From tag cannot create a dialog");
    return new Dialog({
      callId: request.callId,
      localTag,
      remoteTag,
      localUri: request.to.uri.toString(),
      remoteUri: request.from.uri.toString(),
      localDisplayName: request.to.displayName,
      remoteDisplayName: request.from.displayName,
      localCSeq: 0,
      remoteCSeq: request.cseq.seq,
      routeSet: request.getHeaders("Record-Route"),
      remoteTarget: contact,
      secure: request.uri instanceof SipUri && request.uri.scheme === "sips",
    });
  }

  /**
   * UAC side (§12.1.2), e.g. the subscriber on a 2xx to SUBSCRIBE or on the first NOTIFY
   * (RFC 6665 §4.1.2.4): route set = Record-Route reversed, remote target = Contact.
   * `message` is the 2xx response or the NOTIFY request.
   */
  static createUac(request: SipRequest, message: SipResponse | SipRequest): Dialog {
    const isNotify = message instanceof Request;
    const remoteTag = isNotify ? message.from.tag : message.to.tag;
    const localTag = request.from.tag;
    if (remoteTag === undefined || localTag === undefined) throw new Error("missing tag for dialog");
    const rr = message.getHeaders("Record-Route");
    return new Dialog({
      callId: request.callId,
      localTag,
      remoteTag,
      localUri: request.from.uri.toString(),
      remoteUri: request.to.uri.toString(),
      localDisplayName: request.from.displayName,
      remoteDisplayName: request.to.displayName,
      localCSeq: request.cseq.seq,
      remoteCSeq: isNotify ? message.cseq.seq : undefined,
      routeSet: isNotify ? rr : rr.reverse(),
      remoteTarget: firstContact(message),
      secure: request.uri instanceof SipUri && request.uri.scheme === "sips",
    });
  }

  static fromJSON(state: DialogState): Dialog {
    return new Dialog(state);
  }

  toJSON(): DialogState {
    const id = this.id;
    const out: DialogState = {
      callId: id.callId,
      localTag: id.localTag,
      remoteTag: id.remoteTag,
      localUri: this.localUri,
      remoteUri: this.remoteUri,
      localCSeq: this._localCSeq,
      routeSet: [...this._routeSet],
      remoteTarget: this._remoteTarget,
      secure: this.secure,
    };
    if (this.localDisplayName !== undefined) out.localDisplayName = this.localDisplayName;
    if (this.remoteDisplayName !== undefined) out.remoteDisplayName = this.remoteDisplayName;
    if (this._remoteCSeq !== undefined) out.remoteCSeq = this._remoteCSeq;
    return out;
  }

  get id(): DialogId {
    const s = this._idString;
    return { callId: s.slice(0, this._callIdEnd), localTag: s.slice(this._callIdEnd + 1, this._localTagEnd), remoteTag: s.slice(this._localTagEnd + 1) };
  }
  /** `dialogIdToString(id)`, as one flat string (kept as a map key: share it, do not copy it). */
  get idString(): string {
    return this._idString;
  }
  get localCSeq(): number {
    return this._localCSeq;
  }
  get remoteCSeq(): number | undefined {
    return this._remoteCSeq;
  }
  get remoteTarget(): string {
    return this._remoteTarget;
  }
  get routeSet(): readonly string[] {
    return this._routeSet;
  }

  /**
   * §12.2.2: accept an in-dialog request from the peer. Returns false when its CSeq is lower
   * than the last one (answer 500). A target refresh (SUBSCRIBE with Contact) updates the remote target.
   */
  receiveRequest(request: SipRequest): boolean {
    const seq = request.cseq.seq;
    if (this._remoteCSeq !== undefined && seq < this._remoteCSeq) return false;
    this._remoteCSeq = seq;
    if ((request.method === "SUBSCRIBE" || request.method === "NOTIFY") && request.hasHeader("Contact")) {
      // RFC 6665 §4.1.2.1/§4.2.1: SUBSCRIBE and NOTIFY are target refresh requests
      this._remoteTarget = internString(firstContact(request));
    }
    return true;
  }

  /** §12.2.1.1: build an in-dialog request (e.g. NOTIFY) with the next local CSeq and the route set. */
  createRequest(method: string, options: InDialogRequestOptions): SipRequest {
    this._localCSeq += 1;
    const target = parseUri(this._remoteTarget);
    const routes = this._routeSet.map((r) => NameAddr.parse(r));
    let requestUri = target;
    let routeHeaders = routes.map(String);
    if (routes.length > 0) {
      const first = routes[0];
      const loose = first.uri instanceof SipUri && first.uri.params.has("lr");
      if (!loose) {
        // strict router: Request-URI = first route (params not allowed stripped), target appended last
        requestUri = first.uri;
        routeHeaders = [...routes.slice(1).map(String), `<${target.toString()}>`];
      }
    }
    const req = new Request({ method, uri: requestUri });
    req.addBuiltHeader(new Via({ transport: options.via.transport, host: options.via.host, port: options.via.port, params: { branch: options.via.branch ?? generateBranch() } }));
    req.addHeader("Max-Forwards", options.maxForwards ?? 70);
    for (const r of routeHeaders) req.addHeader("Route", r);
    // the URIs are kept in their serialized form: written as they are, not parsed again per request
    const id = this.id;
    req.addHeader("From", nameAddrText(this.localDisplayName, this.localUri, id.localTag));
    req.addHeader("To", nameAddrText(this.remoteDisplayName, this.remoteUri, id.remoteTag));
    req.addHeader("Call-ID", id.callId);
    req.addBuiltHeader(new CSeq(this._localCSeq, method));
    if (options.contact !== undefined) req.addHeader("Contact", options.contact);
    for (const [n, v] of options.headers ?? []) req.addHeader(n, v);
    if (options.body !== undefined) req.setBody(options.body, options.contentType);
    return req;
  }
}

/** `NameAddr.toString()` of (display name, serialized URI, tag), without building the objects. */
function nameAddrText(displayName: string | undefined, uri: string, tag: string): string {
  const dn = displayName !== undefined && displayName !== "" ? quote(displayName) + " " : "";
  return `${dn}<${uri}>;tag=${tag}`;
}

function firstContact(msg: SipRequest | SipResponse): string {
  const c = msg.contact[0];
  if (c === undefined || c === "*") throw new Error("dialog-creating message without a usable Contact");
  return c.uri.toString();
}
