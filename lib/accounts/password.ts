/** Password storage: scrypt for the portal login, HA1 digests for SIP/XCAP digest auth. */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from "node:crypto";

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );

const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;

/** `scrypt$N$r$p$salt$hash` (base64). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEYLEN, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return ["scrypt", N, R, P, salt.toString("base64"), key.toString("base64")].join("$");
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [, n, r, p, saltB64, keyB64] = parts;
  const expected = Buffer.from(keyB64, "base64");
  const key = await scrypt(password, Buffer.from(saltB64, "base64"), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 64 * 1024 * 1024,
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** HA1 = H(username:realm:password) (RFC 2617 §3.2.2.2; SHA-256 per RFC 7616). */
export function digestHa1(username: string, realm: string, password: string, algorithm: "md5" | "sha256" = "md5") {
  return createHash(algorithm).update(`${username}:${realm}:${password}`).digest("hex");
}

/** A password policy an operator can explain: at least 8 characters, not all one class. */
export function passwordProblem(password: string): string | undefined {
  if (!password) return "password is empty";
  if (password.length < 8) return "password is too short (at least 8 characters)";
  if (password.length > 256) return "password is too long (at most 256 characters)";
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 2) return "password is too weak (mix letters with digits or symbols)";
  return undefined;
}

/** A random password that satisfies the policy (demo seeding). */
export function generatePassword(): string {
  return randomBytes(12).toString("base64url").replace(/[-_]/g, "x") + "7!";
}
