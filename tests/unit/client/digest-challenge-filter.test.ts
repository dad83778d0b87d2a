import { describe, expect, it } from "vitest";
import { keepMd5Challenges } from "@/lib/client";

const head = (lines: string[]) => `SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/TCP x.invalid;branch=z9hG4bK1\r\n${lines.join("\r\n")}\r\nContent-Length: 0\r\n\r\n`;

describe("keepMd5Challenges (JsSIP keeps only the last challenge and knows only MD5)", () => {
  it("drops the SHA-256 challenge when MD5 is offered too, whatever the order", () => {
    const md5 = 'WWW-Authenticate: Digest realm="r", nonce="n", algorithm=MD5, qop="auth"';
    const sha = 'WWW-Authenticate: Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth"';
    expect(keepMd5Challenges(head([md5, sha]))).toBe(head([md5]));
    expect(keepMd5Challenges(head([sha, md5]))).toBe(head([md5]));
    const proxy = head([sha.replace("WWW", "Proxy"), 'Proxy-Authenticate: Digest realm="r", nonce="n"']).replace("401 Unauthorized", "407 Proxy Authentication Required");
    expect(keepMd5Challenges(proxy)).not.toContain("SHA-256");
  });

  it("leaves single challenges, SHA-only offers and other messages alone", () => {
    const sha = 'WWW-Authenticate: Digest realm="r", nonce="n", algorithm=SHA-256';
    expect(keepMd5Challenges(head([sha]))).toBe(head([sha]));
    expect(keepMd5Challenges(head([sha, sha]))).toBe(head([sha, sha]));
    const notify = "NOTIFY sip:a@b SIP/2.0\r\nWWW-Authenticate: x\r\nWWW-Authenticate: algorithm=SHA-256\r\n\r\n";
    expect(keepMd5Challenges(notify)).toBe(notify);
  });
});
