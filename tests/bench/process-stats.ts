/**
 * Figures of a server process from outside: CPU time and RSS from /proc, and the V8 heap through a
 * DevTools protocol session (the child started with `--inspect=127.0.0.1:0`).
 */
import { readFileSync, writeFileSync } from "node:fs";
import WebSocket from "ws";

/** utime + stime of processes, ms (clock ticks of 10 ms) */
export function cpuMsOf(pids: number[]): number {
  let ms = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ms += (Number(f[11]) + Number(f[12])) * 10;
    } catch {
      // gone
    }
  }
  return ms;
}

export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

export interface Inspector {
  call<T = Record<string, unknown>>(method: string, params?: Record<string, unknown>): Promise<T>;
  /** Protocol events (`HeapProfiler.addHeapSnapshotChunk`, …); returns a function that stops listening. */
  on(event: string, listener: (params: Record<string, unknown>) => void): () => void;
  close(): void;
}

/** A DevTools protocol session with the child (started with --inspect=127.0.0.1:0). */
export async function connectInspector(output: () => string): Promise<Inspector> {
  const url = /Debugger listening on (ws:\/\/\S+)/.exec(output())?.[1];
  if (!url) throw new Error("the child printed no inspector URL");
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let id = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Map<string, Set<(params: Record<string, unknown>) => void>>();
  ws.on("message", (data) => {
    const m = JSON.parse(String(data)) as { id?: number; method?: string; params?: Record<string, unknown>; result?: unknown; error?: { message: string } };
    if (m.method !== undefined) for (const l of listeners.get(m.method) ?? []) l(m.params ?? {});
    const p = m.id !== undefined ? pending.get(m.id) : undefined;
    if (!p) return;
    pending.delete(m.id!);
    if (m.error) p.reject(new Error(m.error.message));
    else p.resolve(m.result);
  });
  return {
    call: <T,>(method: string, params: Record<string, unknown> = {}) =>
      new Promise<T>((resolve, reject) => {
        const n = ++id;
        pending.set(n, { resolve: resolve as (v: unknown) => void, reject });
        ws.send(JSON.stringify({ id: n, method, params }));
      }),
    on(event, listener) {
      let s = listeners.get(event);
      if (!s) listeners.set(event, (s = new Set()));
      s.add(listener);
      return () => void s.delete(listener);
    },
    close: () => ws.close(),
  };
}

/** V8 heap used after a full collection, bytes. */
export async function heapAfterGc(i: Inspector): Promise<number> {
  await i.call("HeapProfiler.collectGarbage");
  await i.call("HeapProfiler.collectGarbage");
  return (await i.call<{ usedSize: number }>("Runtime.getHeapUsage")).usedSize;
}

/** A heap snapshot (after a full collection) written to `file`, for DevTools or a diff of two. */
export async function writeHeapSnapshot(i: Inspector, file: string): Promise<void> {
  const chunks: string[] = [];
  const off = i.on("HeapProfiler.addHeapSnapshotChunk", (p) => void chunks.push(p.chunk as string));
  try {
    await i.call("HeapProfiler.collectGarbage");
    await i.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
  } finally {
    off();
  }
  writeFileSync(file, chunks.join(""));
}
