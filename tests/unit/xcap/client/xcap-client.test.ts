import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { XcapClient, XcapClientError, computeHa1 } from "../../../../lib/xcap/client";
import { childElements, childrenNS, parseXml } from "../../../../lib/xml";
import { TestXcapServer } from "./test-server";

const RL_NS = "urn:ietf:params:xml:ns:resource-lists";
const XUI = "sip:alice@example.test";
const DOC_PATH = `/resource-lists/users/${XUI}/index`;
const HA1 = computeHa1("alice", "example.test", "secret");

const BASE_DOC = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:unknown">
  <list name="buddies" x:flag="keep">
    <entry uri="sip:bob@example.test"><display-name>Bob</display-name></entry>
    <x:gadget x:id="1">unknown payload</x:gadget>
  </list>
</resource-lists>`;

function addEntry(uri: string) {
  return (doc: Document) => {
    const list = childrenNS(doc.documentElement, RL_NS, "list").find((l) => l.getAttribute("name") === "buddies")!;
    if (childrenNS(list, RL_NS, "entry").some((e) => e.getAttribute("uri") === uri)) return false;
    const e = doc.createElementNS(RL_NS, "entry");
    e.setAttribute("uri", uri);
    list.appendChild(e);
  };
}

function entryUris(xml: string): string[] {
  const doc = parseXml(xml);
  const list = childrenNS(doc.documentElement, RL_NS, "list")[0]!;
  return childrenNS(list, RL_NS, "entry").map((e) => e.getAttribute("uri")!);
}

describe("XcapClient against a digest-protected XCAP server", () => {
  let server: TestXcapServer;
  let client: XcapClient;

  beforeEach(async () => {
    server = new TestXcapServer({ users: { alice: HA1 } });
    await server.start();
    client = new XcapClient({ root: server.baseUrl, xui: XUI, auth: { username: "alice", ha1: HA1 } });
  });
  afterEach(async () => {
    await server.stop();
  });

  it("answers the digest challenge from HA1 and reuses the nonce with increasing nc", async () => {
    server.seed(DOC_PATH, BASE_DOC);
    const r1 = await client.getDocument("resource-lists", "index");
    expect(r1?.etag).toBe('"e1"');
    expect(entryUris(r1!.xml)).toEqual(["sip:bob@example.test"]);
    await client.getDocument("resource-lists", "index");
    const statuses = server.requests.map((r) => r.status);
    expect(statuses).toEqual([401, 200, 200]); // second GET pre-authenticated
    const auth2 = String(server.requests[2]!.headers.authorization);
    expect(auth2).toMatch(/nc=00000002/);
    expect(auth2).toMatch(/qop=auth/);
    expect(auth2).not.toMatch(/secret/);
  });

  it("re-authenticates when the server declares the nonce stale", async () => {
    server.seed(DOC_PATH, BASE_DOC);
    await client.getDocument("resource-lists", "index");
    server.expireNonces();
    const r = await client.getDocument("resource-lists", "index");
    expect(r).not.toBeNull();
    expect(server.requests.map((x) => x.status)).toEqual([401, 200, 401, 200]);
  });

  it("fails with a typed 401 XcapClientError when the HA1 is wrong", async () => {
    const bad = new XcapClient({ root: server.baseUrl, xui: XUI, auth: { username: "alice", ha1: computeHa1("alice", "example.test", "nope") } });
    const err = await bad.getDocument("resource-lists", "index").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XcapClientError);
    expect((err as XcapClientError).status).toBe(401);
    expect(server.requests.length).toBe(2); // one challenge answered, no loop
  });

  it("returns null for a missing document and creates with If-None-Match: *", async () => {
    expect(await client.getDocument("resource-lists", "index")).toBeNull();
    const w = await client.putDocument("resource-lists", "index", BASE_DOC, { ifNoneMatch: "*" });
    expect(w.created).toBe(true);
    expect(w.etag).toMatch(/^"e\d+"$/);
    const put = server.requests.find((r) => r.method === "PUT" && r.status === 201)!;
    expect(put.headers["if-none-match"]).toBe("*");
    expect(put.headers["content-type"]).toBe("application/resource-lists+xml");
    // a second create must fail: the document exists now
    const err = await client.putDocument("resource-lists", "index", BASE_DOC, { ifNoneMatch: "*" }).catch((e: unknown) => e);
    expect((err as XcapClientError).status).toBe(412);
    expect((err as XcapClientError).isPreconditionFailed).toBe(true);
  });

  it("sends the quoted wildcard when configured for Kamailio", async () => {
    await server.stop();
    server = new TestXcapServer({ quotedWildcardOnly: true });
    await server.start();
    const k = new XcapClient({ root: server.baseUrl, xui: XUI, wildcard: '"*"' });
    await k.putDocument("resource-lists", "index", BASE_DOC, { ifNoneMatch: "*" });
    const err = await k.putDocument("resource-lists", "index", BASE_DOC, { ifNoneMatch: "*" }).catch((e: unknown) => e);
    expect((err as XcapClientError).status).toBe(412);
    expect(server.requests[0]!.headers["if-none-match"]).toBe('"*"');
  });

  it("rejects a PUT with a stale If-Match with 412 and accepts the current one", async () => {
    const e1 = server.seed(DOC_PATH, BASE_DOC);
    server.seed(DOC_PATH, BASE_DOC.replace("Bob", "Robert"));
    const err = await client.putDocument("resource-lists", "index", BASE_DOC, { ifMatch: e1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XcapClientError);
    expect((err as XcapClientError).status).toBe(412);
    const cur = await client.getDocument("resource-lists", "index");
    const ok = await client.putDocument("resource-lists", "index", cur!.xml, { ifMatch: cur!.etag! });
    expect(ok.created).toBe(false);
    expect(ok.etag).not.toBe(cur!.etag);
  });

  it("parses the xcap-error condition of a 409", async () => {
    const err = await client.putDocument("resource-lists", "index", "<resource-lists><oops></resource-lists>").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XcapClientError);
    expect((err as XcapClientError).status).toBe(409);
    expect((err as XcapClientError).condition?.name).toBe("not-well-formed");
  });

  it("deletes documents and reports a missing one", async () => {
    server.seed(DOC_PATH, BASE_DOC);
    expect(await client.deleteDocument("resource-lists", "index")).toBe(true);
    expect(await client.deleteDocument("resource-lists", "index")).toBe(false);
    expect(server.docs.has(DOC_PATH)).toBe(false);
  });

  it("builds percent-encoded node selector URIs (Blink form)", () => {
    expect(client.uri("resource-lists", "index", '/resource-lists/list[@name="x"]')).toBe(
      `${server.baseUrl}/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22x%22%5D`,
    );
    expect(client.uri("resource-lists", "index", '/resource-lists/list[@name="a b/c"]/entry[2]')).toBe(
      `${server.baseUrl}/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22a%20b%2Fc%22%5D/entry%5B2%5D`,
    );
    expect(client.uri("org.openmobilealliance.pres-content", "oma_status-icon/index")).toBe(
      `${server.baseUrl}/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index`,
    );
    expect(client.uri("xcap-caps", "index", undefined, true)).toBe(`${server.baseUrl}/xcap-caps/global/index`);
  });

  it("gets, puts and deletes elements by node selector", async () => {
    server.seed(DOC_PATH, BASE_DOC);
    const el = await client.getElement("resource-lists", "index", '/resource-lists/list[@name="buddies"]/entry[@uri="sip:bob@example.test"]');
    expect(el?.xml).toContain("<display-name>Bob</display-name>");
    expect(el?.etag).toBe('"e1"');
    expect(server.requests.at(-1)!.url).toContain("/~~/resource-lists/list%5B@name=%22buddies%22%5D/entry%5B@uri=%22sip:bob@example.test%22%5D");

    const put = await client.putElement(
      "resource-lists",
      "index",
      '/resource-lists/list[@name="buddies"]/entry[@uri="sip:carol@example.test"]',
      '<entry uri="sip:carol@example.test"><display-name>Carol</display-name></entry>',
      { ifMatch: el!.etag! },
    );
    expect(put.created).toBe(true);
    expect(server.requests.at(-1)!.headers["content-type"]).toBe("application/xcap-el+xml");
    expect(entryUris(server.docs.get(DOC_PATH)!.body)).toEqual(["sip:bob@example.test", "sip:carol@example.test"]);

    expect(await client.deleteElement("resource-lists", "index", '/resource-lists/list[@name="buddies"]/entry[@uri="sip:bob@example.test"]')).toBe(true);
    expect(await client.getElement("resource-lists", "index", '/resource-lists/list[@name="buddies"]/entry[@uri="sip:bob@example.test"]')).toBeNull();
    // unknown content untouched by element operations
    expect(server.docs.get(DOC_PATH)!.body).toContain("unknown payload");
  });

  it("update(): GET → mutate → PUT If-Match, preserving unknown elements, attributes and namespaces", async () => {
    server.seed(DOC_PATH, BASE_DOC);
    const r = await client.update("resource-lists", "index", addEntry("sip:carol@example.test"));
    expect(r.changed).toBe(true);
    expect(r.attempts).toBe(1);
    const put = server.requests.find((x) => x.method === "PUT")!;
    expect(put.headers["if-match"]).toBe('"e1"');
    const body = server.docs.get(DOC_PATH)!.body;
    const dom = parseXml(body);
    const list = childElements(dom.documentElement)[0]!;
    expect(list.getAttributeNS("urn:example:unknown", "flag")).toBe("keep");
    const gadget = childrenNS(list, "urn:example:unknown", "gadget")[0]!;
    expect(gadget.getAttributeNS("urn:example:unknown", "id")).toBe("1");
    expect(gadget.textContent).toBe("unknown payload");
    expect(entryUris(body)).toEqual(["sip:bob@example.test", "sip:carol@example.test"]);
  });

  it("update(): no PUT when the mutation changes nothing or returns false", async () => {
    server.seed(DOC_PATH, BASE_DOC);
    const r1 = await client.update("resource-lists", "index", () => undefined);
    expect(r1.changed).toBe(false);
    const r2 = await client.update("resource-lists", "index", addEntry("sip:bob@example.test"));
    expect(r2.changed).toBe(false);
    expect(server.requests.some((x) => x.method === "PUT")).toBe(false);
  });

  it("update(): creates a missing document only when asked to", async () => {
    const err = await client.update("resource-lists", "index", () => undefined).catch((e: unknown) => e);
    expect((err as XcapClientError).status).toBe(404);
    const r = await client.update("resource-lists", "index", addEntry("sip:carol@example.test"), {
      create: () => `<resource-lists xmlns="${RL_NS}"><list name="buddies"/></resource-lists>`,
    });
    expect(r.changed).toBe(true);
    expect(server.requests.find((x) => x.method === "PUT")!.headers["if-none-match"]).toBe("*");
    expect(entryUris(server.docs.get(DOC_PATH)!.body)).toEqual(["sip:carol@example.test"]);
  });

  it("update(): two concurrent writers both land — the loser gets 412, re-reads and re-applies", async () => {
    server.seed(DOC_PATH, BASE_DOC);
    server.holdGetsUntil(2); // both writers read the same version before either writes
    const [a, b] = await Promise.all([
      client.update("resource-lists", "index", addEntry("sip:carol@example.test")),
      client.update("resource-lists", "index", addEntry("sip:dave@example.test")),
    ]);
    expect([a.attempts, b.attempts].sort()).toEqual([1, 2]);
    expect(server.requests.filter((x) => x.method === "PUT" && x.status === 412)).toHaveLength(1);
    expect(entryUris(server.docs.get(DOC_PATH)!.body).sort()).toEqual(
      ["sip:bob@example.test", "sip:carol@example.test", "sip:dave@example.test"].sort(),
    );
    expect(server.docs.get(DOC_PATH)!.body).toContain("unknown payload");
  });

  it("update(): gives up with the 412 after the bounded number of attempts", async () => {
    server.seed(DOC_PATH, BASE_DOC);
    let n = 0;
    // a competing writer that always sneaks in between our GET and PUT
    const err = await client
      .update(
        "resource-lists",
        "index",
        (doc) => {
          server.seed(DOC_PATH, BASE_DOC.replace("Bob", `Bob ${++n}`));
          addEntry("sip:carol@example.test")(doc);
        },
        { maxAttempts: 3 },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XcapClientError);
    expect((err as XcapClientError).status).toBe(412);
    expect(n).toBe(3);
  });
});

describe("XcapClient with a custom header provider", () => {
  it("sends the provider's headers (e.g. the portal session cookie) and never digest", async () => {
    const server = new TestXcapServer();
    await server.start();
    try {
      const client = new XcapClient({
        root: server.baseUrl + "/",
        xui: XUI,
        auth: { headers: ({ method }) => ({ Cookie: `session=abc; m=${method}` }) },
      });
      await client.getDocument("resource-lists", "index");
      expect(server.requests[0]!.headers.cookie).toBe("session=abc; m=GET");
      expect(server.requests[0]!.headers.authorization).toBeUndefined();
      expect(server.requests[0]!.url).toBe(`/xcap-root/resource-lists/users/sip:alice@example.test/index`);
    } finally {
      await server.stop();
    }
  });

  it("uses an injected fetch and maps network failures to XcapClientError status 0", async () => {
    const client = new XcapClient({
      root: "http://xcap.invalid/xcap-root",
      xui: XUI,
      fetch: async () => {
        throw new Error("connection refused");
      },
    });
    const err = await client.getDocument("resource-lists", "index").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XcapClientError);
    expect((err as XcapClientError).status).toBe(0);
  });

  it("validates its options", () => {
    expect(() => new XcapClient({ root: "ftp://x", xui: XUI })).toThrow(TypeError);
    expect(() => new XcapClient({ root: "http://x", xui: "alice" })).toThrow(TypeError);
  });
});
