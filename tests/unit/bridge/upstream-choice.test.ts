/** Which upstream `npm start` gives the bridge: the embedded server in process unless SIP_UPSTREAM says otherwise. */
import { describe, expect, it } from "vitest";
import type { SipBridgeInProcessUpstream } from "@/lib/bridge";
import { bridgeUpstream } from "@/lib/cli/start";
import type { HeraldConfig } from "@/lib/config";
import type { RunningSipServer } from "@/lib/server/main";
import { createMemoryFlow } from "@/lib/sip";

const cfg = (o: Partial<HeraldConfig>) => ({ SIP_HOST: "0.0.0.0", SIP_PORT: 5060, ...o }) as HeraldConfig;
const flow = createMemoryFlow({ address: "0.0.0.0", port: 1 }, { address: "127.0.0.1", port: 5060 })[0];
const opened: unknown[] = [];
const sip = { server: { transport: { openFlow: (o: unknown) => (opened.push(o), flow) } } } as unknown as RunningSipServer;

describe("bridgeUpstream", () => {
  it("uses in-process flows to the embedded server by default, each opened for the session's user and the browser's address", () => {
    const up = bridgeUpstream(cfg({}), sip);
    expect("openFlow" in up).toBe(true);
    expect((up as SipBridgeInProcessUpstream).openFlow({ aor: "alice@example.test", clientAddress: "192.0.2.7" })).toBe(flow);
    expect(opened).toEqual([{ owner: "sip:alice@example.test", clientAddress: "192.0.2.7" }]);
  });

  it("uses a real TCP/TLS connection when SIP_UPSTREAM is set (Kamailio), even with the embedded server on", () => {
    expect(bridgeUpstream(cfg({ SIP_UPSTREAM: "sip:127.0.0.1:5070;transport=tcp" }), sip)).toEqual({ host: "127.0.0.1", port: 5070, transport: "tcp" });
  });

  it("uses TCP to SIP_HOST:SIP_PORT when the embedded server is off and no upstream is set", () => {
    expect(bridgeUpstream(cfg({ SIP_HOST: "0.0.0.0", SIP_PORT: 5099 }), undefined)).toEqual({ host: "127.0.0.1", port: 5099, transport: "tcp" });
  });
});
