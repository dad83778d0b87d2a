import { describe, expect, it } from "vitest";
import { setUriPolicyOptimistic, type AddressBookModel } from "../../../components/buddy-list/model-ops";
import { beforeBlockKey } from "../../../lib/xcap/addressbook/model";

function model(policy: "allow" | "block" | "default", attributes: Record<string, string | null>): AddressBookModel {
  return {
    groups: [],
    contacts: [
      {
        id: "c1",
        name: "Bob",
        uris: [{ id: "u1", uri: "sip:bob@example.test", type: null, attributes: {} }],
        defaultUriId: null,
        groups: [],
        presence: { policy, subscribe: true },
        dialog: { policy: "default", subscribe: false },
        attributes,
      },
    ],
    policies: [],
  } as unknown as AddressBookModel;
}

describe("optimistic unblock", () => {
  it("shows the policy from before the block, as the server's edit writes it", () => {
    const allowed = setUriPolicyOptimistic(model("block", { [beforeBlockKey("presence")]: "allow" }), "sip:bob@example.test", "unblock");
    expect(allowed.contacts[0].presence.policy).toBe("allow");
    const unknown = setUriPolicyOptimistic(model("block", {}), "sip:bob@example.test", "unblock");
    expect(unknown.contacts[0].presence.policy).toBe("default");
  });
});
