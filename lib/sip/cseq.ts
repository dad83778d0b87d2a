/** CSeq header (RFC 3261 §20.16): sequence number < 2^31 and method. */
import { SipParseError } from "./parse-error";
import { TOKEN_RE } from "./syntax";

const CSEQ_RE = /^(\d{1,10})[ \t]+(\S+)$/;
export const MAX_CSEQ = 2 ** 31 - 1;

export class CSeq {
  constructor(
    readonly seq: number,
    readonly method: string,
  ) {}

  static parse(text: string): CSeq {
    const m = CSEQ_RE.exec(text.trim());
    if (!m || !TOKEN_RE.test(m[2])) throw new SipParseError("INVALID_CSEQ", "malformed CSeq");
    const seq = Number(m[1]);
    if (seq > MAX_CSEQ) throw new SipParseError("INVALID_CSEQ", "CSeq number out of range");
    return new CSeq(seq, m[2]);
  }

  toString(): string {
    return `${this.seq} ${this.method}`;
  }
}
