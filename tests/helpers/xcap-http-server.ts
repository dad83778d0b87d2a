/** Serve a fetch-style handler (Request → Response) on 127.0.0.1 with node:http, for tests. */
import http from "node:http";
import type { AddressInfo } from "node:net";

export async function serveFetch(handler: (req: Request) => Promise<Response>) {
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    });
    try {
      const r = await handler(request);
      const out: Record<string, string[]> = {};
      r.headers.forEach((v, k) => (out[k] ??= []).push(v));
      // Headers joins repeated WWW-Authenticate values; keep them separate
      const www = (r.headers as Headers & { getSetCookie?: () => string[] }).get("www-authenticate");
      res.writeHead(r.status, Object.fromEntries(Object.entries(out).map(([k, v]) => [k, k === "www-authenticate" && www ? splitChallenges(www) : v.join(", ")])));
      res.end(Buffer.from(await r.arrayBuffer()));
    } catch (err) {
      res.writeHead(500);
      res.end(String(err));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function splitChallenges(v: string): string[] {
  return v.split(/,\s*(?=Digest\s)/i);
}
