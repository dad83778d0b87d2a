/** An interactive Prisma transaction held open on purpose, to test what happens next to it. */
import type { Db } from "../../lib/db";

/**
 * Start a transaction that runs `write`, then waits; resolves once `write` is done. `rollBack()`
 * makes the transaction throw (so Prisma rolls it back) and resolves to the error's message.
 */
export async function heldTransaction(db: Db, write: (q: Db) => Promise<unknown>): Promise<{ rollBack(): Promise<string> }> {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let inside!: () => void;
  const entered = new Promise<void>((r) => (inside = r));
  const done = db
    .$transaction(async (q) => {
      await write(q as unknown as Db);
      inside();
      await gate;
      throw new Error("roll back");
    })
    .then(
      () => "committed",
      (e: Error) => e.message,
    );
  await entered;
  return {
    rollBack: () => {
      release();
      return done;
    },
  };
}
