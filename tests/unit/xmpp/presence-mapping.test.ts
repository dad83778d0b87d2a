/** lib/xmpp protocol code: JIDs, presence stanzas, the PIDF ⇄ presence mapping, and its purity. */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parsePidf, summarizePresence } from "@/lib/presence";
import { bareJid, jidToSipUri, parseJid, sipUriToJid } from "@/lib/xmpp/jid";
import { composeXmppPidf, extendedStatusOfShow, presenceOfPidf, presenceStanzaOf, showOfExtendedStatus, type XmppResourceState } from "@/lib/xmpp/presence-mapping";
import { readPresence, writePresence, type ElementLike } from "@/lib/xmpp/presence-stanza";
import { expectValidXml } from "../presence/xsd";

const el = (name: string, attrs: Record<string, string> = {}, ...children: Array<ElementLike | string>): ElementLike => ({ name, attrs, children });

describe("JIDs", () => {
  it("splits, lower-cases local part and domain, keeps the resource, maps to and from sip:", () => {
    const j = parseJid("Bob@XMPP.example/Phone 1")!;
    expect(j).toEqual({ local: "bob", domain: "xmpp.example", resource: "Phone 1" });
    expect(bareJid(j)).toBe("bob@xmpp.example");
    expect(jidToSipUri(j)).toBe("sip:bob@xmpp.example");
    expect(sipUriToJid("sip:bob@xmpp.example")).toEqual({ local: "bob", domain: "xmpp.example", resource: undefined });
    expect(parseJid("xmpp.example")).toEqual({ local: undefined, domain: "xmpp.example", resource: undefined });
    for (const bad of ["", "@x", "a@", "a@b/", "a b@c", "a@b c"]) expect(parseJid(bad)).toBeUndefined();
  });
});

describe("presence stanzas", () => {
  it("reads type, show, statuses per xml:lang (inherited from the stanza) and priority", () => {
    const p = readPresence(
      el("presence", { from: "bob@xmpp.example/phone", to: "alice@example.test", "xml:lang": "en" }, el("show", {}, "dnd"), el("status", {}, "Busy"), el("status", { "xml:lang": "de" }, "Beschäftigt"), el("priority", {}, "7")),
    )!;
    expect(p).toEqual({ from: "bob@xmpp.example/phone", to: "alice@example.test", show: "dnd", statuses: [{ text: "Busy", lang: "en" }, { text: "Beschäftigt", lang: "de" }], priority: 7 });
    expect(readPresence(el("presence", { from: "a@b", to: "c@d", type: "bogus" }))?.type).toBe("error");
    expect(readPresence(el("presence", { from: "a@b", to: "c@d" }, el("show", {}, "sleepy")))?.show).toBeUndefined();
    expect(readPresence(el("message", { from: "a@b", to: "c@d" }))).toBeUndefined();
    expect(readPresence(el("presence", { to: "c@d" }))).toBeUndefined();
  });

  it("writes escaped stanzas", () => {
    expect(writePresence({ from: "alice@example.test", to: "bob@xmpp.example", show: "away", statuses: [{ text: "<Lunch> & \"tea\"", lang: "en" }] })).toBe(
      `<presence from="alice@example.test" to="bob@xmpp.example"><show>away</show><status xml:lang="en">&lt;Lunch&gt; &amp; &quot;tea&quot;</status></presence>`,
    );
    expect(writePresence({ from: "a@b", to: "c@d", type: "probe", statuses: [] })).toBe(`<presence from="a@b" to="c@d" type="probe"/>`);
    expect(writePresence({ from: "a@b", to: "c@d", type: "error", statuses: [], error: { type: "wait", condition: "policy-violation", text: "at most <2>" } })).toBe(
      `<presence from="a@b" to="c@d" type="error"><error type="wait"><policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">at most &lt;2&gt;</text></error></presence>`,
    );
  });
});

describe("show ⇄ extended status", () => {
  it("chat and none → available, away → away, xa → extended-away, dnd → busy; and back", () => {
    expect([undefined, "chat", "away", "xa", "dnd"].map((s) => extendedStatusOfShow(s as never))).toEqual(["available", "available", "away", "extended-away", "busy"]);
    expect(showOfExtendedStatus("available")).toEqual({});
    expect(showOfExtendedStatus("away")).toEqual({ show: "away" });
    expect(showOfExtendedStatus("extended-away")).toEqual({ show: "xa" });
    expect(showOfExtendedStatus("busy")).toEqual({ show: "dnd" });
    expect(showOfExtendedStatus("offline")).toBe("unavailable");
  });
});

describe("XMPP → PIDF", () => {
  const since = "2026-01-01T10:00:00.000Z";
  const later = "2026-01-01T10:05:00.000Z";

  it("one schema-valid tuple per resource; the person follows the highest priority; notes per language", async () => {
    const resources = new Map<string, XmppResourceState>([
      ["phone", { show: "away", statuses: [{ text: "Walking" }], priority: 0, since: later }],
      ["laptop", { show: "dnd", statuses: [{ text: "Coding", lang: "en" }, { text: "Programmiere", lang: "de" }], priority: 10, since }],
    ]);
    const xml = composeXmppPidf("sip:bob@xmpp.example", "bob@xmpp.example", resources);
    await expectValidXml(xml);
    const doc = parsePidf(xml);
    expect(doc.tuples.map((t) => [t.contact, t.extendedStatus, t.basic])).toEqual([
      ["xmpp:bob@xmpp.example/phone", "away", "open"],
      ["xmpp:bob@xmpp.example/laptop", "busy", "open"],
    ]);
    expect(doc.tuples[1].notes).toEqual([{ text: "Coding", lang: "en" }, { text: "Programmiere", lang: "de" }]);
    expect(xml).toContain("<rpid:busy/>");
    // the buddy list shows the resource changed last (newest explicit choice)
    expect(summarizePresence(doc).availability).toBe("away");
  });

  it("no resource: one closed tuple carrying the last unavailable's status", async () => {
    const xml = composeXmppPidf("sip:bob@xmpp.example", "bob@xmpp.example", new Map(), [{ text: "Gone home", lang: "en" }]);
    await expectValidXml(xml);
    const s = summarizePresence(parsePidf(xml));
    expect(s.availability).toBe("offline");
    expect(s.notes).toEqual([{ text: "Gone home", lang: "en" }]);
  });

  it("escapes resource names and texts", async () => {
    const xml = composeXmppPidf("sip:bob@xmpp.example", "bob@xmpp.example", new Map([["a<b>&c", { statuses: [{ text: "x < y & z" }], priority: 0, since }]]));
    await expectValidXml(xml);
    expect(parsePidf(xml).tuples[0].notes[0].text).toBe("x < y & z");
  });
});

describe("PIDF → XMPP", () => {
  const pidf = (extended: string, basic = "open", notes = `<note xml:lang="en">Meeting</note><note xml:lang="fr">Réunion</note><note xml:lang="en">dup</note>`) =>
    `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:agp-pidf="urn:ag-projects:xml:ns:pidf" entity="sip:alice@example.test"><tuple id="t"><status><basic>${basic}</basic><agp-pidf:extended>${extended}</agp-pidf:extended></status>${notes}</tuple></presence>`;

  it("busy → dnd with one status per language; offline and closed → unavailable", () => {
    expect(presenceOfPidf(pidf("busy"))).toEqual({ available: true, show: "dnd", statuses: [{ text: "Meeting", lang: "en" }, { text: "Réunion", lang: "fr" }] });
    expect(presenceOfPidf(pidf("available", "open", ""))).toEqual({ available: true, statuses: [] });
    expect(presenceOfPidf(pidf("extended-away")).show).toBe("xa");
    expect(presenceOfPidf(pidf("offline")).available).toBe(false); // Invisible looks offline
    expect(presenceOfPidf(pidf("available", "closed")).available).toBe(false);
    expect(presenceStanzaOf(presenceOfPidf(pidf("offline", "open", "<note>Away for the day</note>")), "alice@example.test", "bob@xmpp.example")).toEqual({
      from: "alice@example.test",
      to: "bob@xmpp.example",
      type: "unavailable",
      statuses: [{ text: "Away for the day" }],
    });
  });

  it("throws on a malformed body", () => {
    expect(() => presenceOfPidf("<presence")).toThrow();
  });
});

describe("lib/xmpp protocol code", () => {
  it("imports no framework (next, prisma, react) and no Node-only module in its mapping files", () => {
    const dir = new URL("../../../lib/xmpp/", import.meta.url);
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts"))) {
      const src = readFileSync(new URL(f, dir), "utf8");
      const imports = [...src.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]);
      for (const i of imports) expect(i, `${f} imports ${i}`).not.toMatch(/^(next|react|@prisma|\.\.\/(db|portal|storage)|@\/app)/);
      if (["jid.ts", "presence-stanza.ts", "presence-mapping.ts"].includes(f)) for (const i of imports) expect(i, `${f} imports ${i}`).not.toMatch(/^node:|^\.\.\/(server|sip)/);
    }
  });
});
