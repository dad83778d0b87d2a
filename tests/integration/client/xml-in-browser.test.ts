/**
 * lib/xml's parseXml as the page runs it (what the page receives: PIDF, RLMI, watcherinfo,
 * xcap-diff): in Chromium it must accept and refuse exactly what it does on the server, with the
 * same error codes. lib/xml.ts is bundled for the browser by esbuild (the bundler tsx runs on) and
 * run in a blank page.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import { launchBrowser } from "../../e2e/browser";
import { parseXml, XmlParseError } from "../../../lib/xml";

const ROOT = path.resolve(import.meta.dirname, "..", "..", "..");

type Outcome = { ok: true; root: string; ns: string | null; text: string } | { ok: false; code: string };

const CASES: Record<string, string> = {
  pidf: `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@example.test"><tuple id="t"><status><basic>open</basic></status><note>Caf&#233; &amp; tea</note></tuple></presence>`,
  cdata: `<a xmlns="urn:x"><![CDATA[<b>]]> &lt;c&gt;</a>`,
  // an element named like the browsers' error element, in another namespace, is just an element
  lookalike: `<parsererror xmlns="urn:example:not-an-error">fine</parsererror>`,
  mismatched: `<a><b></a>`,
  undeclaredPrefix: `<p:a xmlns="urn:x"/>`,
  unknownEntity: `<a>&nbsp;</a>`,
  doctype: `<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`,
  twoRoots: `<a/><b/>`,
  empty: ``,
};

function outcomeOf(run: () => { documentElement: Element | null }): Outcome {
  try {
    const doc = run();
    const root = doc.documentElement!;
    return { ok: true, root: root.localName, ns: root.namespaceURI, text: (root.textContent ?? "").trim() };
  } catch (err) {
    return { ok: false, code: err instanceof XmlParseError ? err.code : `not an XmlParseError: ${String(err)}` };
  }
}

describe("parseXml in Chromium (the browser's DOMParser)", () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const bundle = await build({
      stdin: { contents: `export { parseXml, XmlParseError } from "./lib/xml";`, resolveDir: ROOT, loader: "ts" },
      bundle: true,
      format: "iife",
      globalName: "HeraldXml",
      platform: "browser",
      write: false,
      logLevel: "silent",
    });
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.setContent("<!doctype html><title>xml</title>");
    await page.addScriptTag({ content: bundle.outputFiles[0].text });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function inBrowser(text: string): Promise<Outcome> {
    return page.evaluate((text) => {
      const { parseXml, XmlParseError } = (window as unknown as { HeraldXml: { parseXml: (t: string) => Document; XmlParseError: new () => Error & { code: string } } }).HeraldXml;
      try {
        const doc = parseXml(text);
        const root = doc.documentElement;
        return { ok: true as const, root: root.localName, ns: root.namespaceURI, text: (root.textContent ?? "").trim() };
      } catch (err) {
        return { ok: false as const, code: err instanceof XmlParseError ? err.code : `not an XmlParseError: ${String(err)}` };
      }
    }, text);
  }

  for (const [name, text] of Object.entries(CASES)) {
    it(`${name}: the same outcome as on the server`, async () => {
      expect(await inBrowser(text)).toEqual(outcomeOf(() => parseXml(text)));
    });
  }

  it("a well-formed document is read in the page; malformed input and a DOCTYPE are refused with their codes", async () => {
    expect(await inBrowser(CASES.pidf)).toEqual({ ok: true, root: "presence", ns: "urn:ietf:params:xml:ns:pidf", text: "openCafé & tea" });
    expect(await inBrowser(CASES.mismatched)).toEqual({ ok: false, code: "not-well-formed" });
    expect(await inBrowser(CASES.doctype)).toEqual({ ok: false, code: "doctype" });
  });
});
