/**
 * A benchmark's server in its own process: spawn a script that prints one JSON line with its port
 * when ready, then talk to it over IPC (`call(op, args)` → its answer), so the server and the load
 * generator never share a CPU-bound event loop.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface ChildServer<Ready> {
  child: ChildProcess;
  ready: Ready;
  call<T>(op: string, extra?: Record<string, unknown>): Promise<T>;
}

export async function startChildServer<Ready>(script: string, args: string[], what: string, opts: { stderr?: "inherit" | "pipe" } = {}): Promise<ChildServer<Ready>> {
  const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", script, ...args], { stdio: ["ignore", "pipe", opts.stderr ?? "inherit", "ipc"] });
  const ready = await new Promise<Ready>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not start within 60 s`)), 60_000);
    createInterface({ input: child.stdout! }).once("line", (l) => {
      clearTimeout(t);
      resolve(JSON.parse(l) as Ready);
    });
    child.once("exit", (code) => reject(new Error(`${what} exited (${code})`)));
  });
  let seq = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on("message", (raw) => {
    const m = raw as { id: number; result?: unknown; error?: string };
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error !== undefined) w.reject(new Error(m.error));
    else w.resolve(m.result);
  });
  const call = <T>(op: string, extra: Record<string, unknown> = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = ++seq;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, op, ...extra });
    });
  return { child, ready, call };
}
