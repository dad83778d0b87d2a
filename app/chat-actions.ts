"use server";
/** Instant-message server actions: conversation history and "who may message me" (im-rules in XCAP). */
import { z } from "zod";
import { runAction } from "@/lib/portal/action-result";
import type { ActionResult } from "@/lib/portal/wire-types";
import { conversationHistory, markConversationRead, setImPolicy, type HistoryMessage } from "@/lib/portal/instant-messages";
import type { ImPolicy } from "@/lib/im";

const peerSchema = z.string().trim().regex(/^sips?:[^@\s<>]+@[^@\s<>]+$/, "must be a SIP address (sip:user@domain)");

export async function loadConversation(peer: string): Promise<ActionResult<HistoryMessage[]>> {
  return runAction(peerSchema, peer, (user, p) => conversationHistory(user.address, p));
}


/** The user has read the conversation with `peer` (the window is open and expanded). */
export async function markRead(peer: string): Promise<ActionResult<null>> {
  return runAction(peerSchema, peer, async (user, p) => {
    await markConversationRead(user.address, p);
    return null;
  });
}

export async function saveImPolicy(policy: ImPolicy): Promise<ActionResult<null>> {
  return runAction(z.enum(["everyone", "contacts", "nobody"]), policy, async (user, p) => {
    await setImPolicy(user.address, p);
    return null;
  });
}
