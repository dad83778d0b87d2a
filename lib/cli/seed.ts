/** Demo data: domain example.test with alice, bob, carol (users) and admin. */
import type { Db } from "../db";
import { addAccount, addDomain, setPassword } from "../accounts/service";
import { generatePassword } from "../accounts/password";

export const DEMO_USERS = [
  { user: "alice", name: "Alice Liddell", role: "user" },
  { user: "bob", name: "Bob Builder", role: "user" },
  { user: "carol", name: "Carol Danvers", role: "user" },
  { user: "admin", name: "Operator", role: "admin" },
] as const;

/** Seed example.test (idempotent: existing accounts get a fresh password). */
export async function seedDemo(db: Db, domain = "example.test"): Promise<{ address: string; password: string; role: string }[]> {
  if (!(await db.domain.findUnique({ where: { name: domain } }))) await addDomain(db, domain, { actor: "demo" });
  const seeded = [];
  for (const u of DEMO_USERS) {
    const address = `${u.user}@${domain}`;
    const password = generatePassword();
    if (await db.account.findUnique({ where: { address } })) await setPassword(db, address, password, "demo");
    else await addAccount(db, { address, password, displayName: u.name, role: u.role, actor: "demo" });
    seeded.push({ address, password, role: u.role });
  }
  return seeded;
}

