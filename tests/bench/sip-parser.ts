/**
 * SIP parser / serializer / framer throughput. Prints JSON lines; no assertions.
 * Run: npx tsx tests/bench/sip-parser.ts
 */
import { parseMessage } from "../../lib/sip/parser";
import { serializeMessage } from "../../lib/sip/serializer";
import { SipStreamParser } from "../../lib/sip/stream-parser";
import { createRequest } from "../../lib/sip/ua-helpers";
import { loadKamailioFixtures } from "../unit/sip/fixture-loader";

const pidf = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example.test">
  <tuple id="t-alice-1"><status><basic>open</basic></status><contact priority="0.8">sip:alice@example.test</contact><note>Alice note one</note></tuple>
  <dm:person id="p-alice"><rpid:activities><rpid:busy/></rpid:activities><dm:note>Alice note one</dm:note></dm:person>
</presence>
`;

const publish = serializeMessage(
  createRequest({
    method: "PUBLISH",
    uri: "sip:alice@example.test",
    from: "<sip:alice@example.test>",
    to: "<sip:alice@example.test>",
    via: { transport: "TCP", host: "127.0.0.1", port: 39636 },
    contact: "<sip:alice@127.0.0.1:39636;transport=tcp>",
    headers: [
      ["Event", "presence"],
      ["Expires", "600"],
      ["User-Agent", "herald-bench"],
      ["Proxy-Authorization", 'Digest username="alice", realm="example.test", nonce="awJOMWsCTQXOy5R22qisYo8gnS4FHCUk", uri="sip:alice@example.test", response="96102b5636c52dd3dbabb3156a65450f", algorithm=MD5, qop=auth, nc=00000001, cnonce="6b930abcdd34"'],
    ],
    body: pidf,
    contentType: "application/pidf+xml",
  }),
);
const notify = loadKamailioFixtures().find((f) => f.file === "presence-notify-active-pidf.txt" && f.startLine.startsWith("NOTIFY"))!.wire;

function bench(name: string, iterations: number, fn: () => void, extra: Record<string, unknown> = {}) {
  for (let i = 0; i < Math.min(5000, iterations / 10); i++) fn(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0);
  const perSec = Math.round((iterations * 1e9) / ns);
  console.log(JSON.stringify({ bench: name, iterations, msgsPerSec: perSec, usPerMsg: +(ns / iterations / 1000).toFixed(2), ...extra }));
  return perSec;
}

const N = 100_000;
bench("parse PUBLISH+PIDF", N, () => parseMessage(publish), { bytes: publish.length });
bench("parse NOTIFY (Kamailio)", N, () => parseMessage(notify), { bytes: notify.length });
bench("parse NOTIFY + validate all headers", N, () => parseMessage(notify).validate());
const parsedNotify = parseMessage(notify);
bench("serialize NOTIFY", N, () => serializeMessage(parsedNotify));
const parsedPublish = parseMessage(publish);
bench("serialize PUBLISH+PIDF", N, () => serializeMessage(parsedPublish));

// framer: a stream of back-to-back messages in 1460-byte (MSS-sized) chunks
const streamMsgs = 20_000;
const stream = Buffer.concat(Array.from({ length: streamMsgs }, (_, i) => (i % 2 ? notify : publish)));
{
  let count = 0;
  const p = new SipStreamParser();
  p.on("message", () => count++);
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < stream.length; off += 1460) p.push(stream.subarray(off, off + 1460));
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(
    JSON.stringify({
      bench: "framer 1460-byte chunks (parse included)",
      messages: count,
      msgsPerSec: Math.round((count * 1e9) / ns),
      mbPerSec: +((stream.length / (ns / 1e9)) / 1e6).toFixed(1),
    }),
  );
}
