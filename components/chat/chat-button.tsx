"use client";
/** The "Chat" entry of a contact row, with the contact's unread count (nothing outside a ChatDock). */
import { useChatOpener, useUnread } from "./chat-context";
import { btn } from "../ui/styles";

export function ChatButton({ peer, name }: { peer: string; name: string }) {
  const open = useChatOpener();
  const unread = useUnread(peer);
  if (!open || !peer) return null;
  return (
    <button type="button" className={btn.ghost} onClick={() => open(peer, name)} data-testid="open-chat">
      Chat<span className="sr-only"> with {name}</span>
      {unread > 0 ? (
        <span data-testid="row-unread" className="ml-1 rounded-full bg-red-600 px-1.5 text-xs text-white">
          {unread}
          <span className="sr-only"> unread</span>
        </span>
      ) : null}
    </button>
  );
}
