import { handleXcapRequest, MemoryXcapStore, type XcapServerOptions, type XcapResponse, type XcapChangeEvent } from "@/lib/xcap/server";

export const ROOT = "https://xcap.example.test/xcap-root";
export const ALICE = { aor: "alice@example.test" };
export const BOB = { aor: "bob@example.test" };
export const RL = "resource-lists/users/sip:alice@example.test/index";

export interface CallInput {
  method?: string;
  path: string;
  query?: string;
  body?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
  user?: { aor: string } | null;
}

export interface Result extends XcapResponse {
  text: string;
}

export function setup<S extends MemoryXcapStore = MemoryXcapStore>(options: XcapServerOptions = {}, store: S = new MemoryXcapStore() as S) {
  const events: XcapChangeEvent[] = [];
  const opts: XcapServerOptions = { onChange: (e) => void events.push(e), ...options };
  async function call(input: CallInput): Promise<Result> {
    const headers: Record<string, string> = { ...(input.headers ?? {}) };
    if (input.contentType) headers["content-type"] = input.contentType;
    const body = typeof input.body === "string" ? new TextEncoder().encode(input.body) : (input.body ?? new Uint8Array());
    const res = await handleXcapRequest(
      {
        method: input.method ?? "GET",
        path: input.path,
        query: input.query ?? "",
        headers,
        body,
        user: input.user === undefined ? ALICE : input.user,
        rootUri: ROOT,
      },
      store,
      opts,
    );
    return { ...res, text: new TextDecoder().decode(res.body) };
  }
  const put = (path: string, body: string, contentType: string, extra: Partial<CallInput> = {}) =>
    call({ method: "PUT", path, body, contentType, ...extra });
  const del = (path: string, extra: Partial<CallInput> = {}) => call({ method: "DELETE", path, ...extra });
  return { store, events, call, put, del };
}

export const RL_MIME = "application/resource-lists+xml";
export const EL_MIME = "application/xcap-el+xml";
export const ATT_MIME = "application/xcap-att+xml";

export const RL_DOC = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:ext">
  <list name="friends">
    <entry uri="sip:bob@example.test">
      <display-name>Bob</display-name>
    </entry>
    <entry uri="sip:carol@example.test" x:colour="blue">
      <display-name>Carol</display-name>
      <x:note>keep me</x:note>
    </entry>
  </list>
  <list name="family"/>
</resource-lists>
`;

/** The condition element of an xcap-error body. */
export function xcapErrorCondition(text: string): string | undefined {
  return /<xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error"><([a-z0-9-]+)/.exec(text)?.[1];
}

export function sel(s: string): string {
  return `${RL}/~~/${s.replace(/\[/g, "%5B").replace(/\]/g, "%5D").replace(/"/g, "%22")}`;
}
