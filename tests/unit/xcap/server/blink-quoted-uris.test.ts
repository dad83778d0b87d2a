/**
 * python-sipsimple (Blink) writes xs:anyURI values through urllib.parse.quote: anchors and
 * resource-list targets arrive as `https%3A//…`, service URIs as `sip%3Aalice%2Bpresence%40…`.
 * Herald's XCAP server must store Blink's own documents (found by the Kamailio interop test, where
 * the same documents PUT to Kamailio's xcap_server were accepted and refused by Herald with 409).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { setup } from "./helpers";

const fixture = (f: string) => readFileSync(new URL(`../../../fixtures/xcap/blink/${f}`, import.meta.url), "utf8");
const USER = "sip:alice@example.test";

describe("Blink's percent-encoded anyURI values", () => {
  it("accepts Blink's resource-lists (external anchors https%3A//…)", async () => {
    const { put } = setup();
    const res = await put(`resource-lists/users/${USER}/index`, fixture("resource-lists.xml"), "application/resource-lists+xml");
    expect(res.status, res.text).toBe(201);
  });

  it("accepts Blink's rls-services and indexes the service URI decoded", async () => {
    const { put, store } = setup();
    const res = await put(`rls-services/users/${USER}/index`, fixture("rls-services.xml"), "application/rls-services+xml");
    expect(res.status, res.text).toBe(201);
    const owners = await store.findServiceUriOwners(["sip:alice+presence@example.test", "sip:alice+work@example.test"]);
    expect(owners.map((o) => o.uri).sort()).toEqual(["sip:alice+presence@example.test", "sip:alice+work@example.test"]);
  });

  it("still refuses an anchor that is not an HTTP URI, encoded or not", async () => {
    const { put } = setup();
    for (const anchor of ["sip%3Abob%40example.test", "ftp://x.example/list"]) {
      const doc = `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"><external anchor="${anchor}"/></list></resource-lists>`;
      const res = await put(`resource-lists/users/${USER}/index`, doc, "application/resource-lists+xml");
      expect(res.status, anchor).toBe(409);
    }
  });
});
