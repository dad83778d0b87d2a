"use client";
/**
 * Chat windows docked at the bottom of the page, as in Gmail: opened from a contact row (the
 * "Chat" button) or by an arriving message, several at once (the oldest beyond `maxWindows` is
 * closed), unread counts on rows and in the document title, history loaded when a window opens.
 * Conversations live in the tab's InstantMessenger (lib/client); this holds which windows show.
 *
 * Unread counts survive a reload: they come from the server's read markers, rendered with the
 * page (`unread`), and an expanded window marks its conversation read (`markRead`) when it
 * opens and as messages arrive in it. A message arriving while its window is closed or
 * minimised, or the tab hidden, shows a desktop notification (only once the user allowed them
 * on the buddy list); clicking it opens the conversation.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from "react";
import type { InstantMessenger, MessengerSnapshot } from "@/lib/client";
import type { ActionResult } from "@/lib/portal/wire-types";
import type { HistoryMessage } from "@/lib/portal/instant-messages";
import { usePresenceClient } from "../presence/presence-client-context";
import { useDesktopNotifications } from "../buddy-list/attention";
import { ChatWindow } from "./chat-window";

export interface ChatActions {
  loadConversation: (peer: string) => Promise<ActionResult<HistoryMessage[]>>;
  /** Record that the conversation with `peer` has been read. */
  markRead?: (peer: string) => Promise<ActionResult<null>>;
}

interface OpenWindow {
  peer: string;
  name: string;
  minimised: boolean;
}

interface ChatContextValue {
  open(peer: string, name?: string): void;
  snapshot: MessengerSnapshot;
}

const ChatContext = createContext<ChatContextValue | null>(null);
const EMPTY: MessengerSnapshot = { conversations: {}, totalUnread: 0 };
const noop = () => () => {};

/** Open a chat window with a contact (null outside a ChatDock: the row shows no Chat button). */
export function useChatOpener(): ((peer: string, name?: string) => void) | null {
  return useContext(ChatContext)?.open ?? null;
}

/** Messages from `peer` not read yet. */
export function useUnread(peer: string): number {
  return useContext(ChatContext)?.snapshot.conversations[peer]?.unread ?? 0;
}

/** Messages not read yet, all conversations (the buddy list puts them in the title with the requests). */
export function useTotalUnread(): number {
  return useContext(ChatContext)?.snapshot.totalUnread ?? 0;
}

function useMessenger(): InstantMessenger | null {
  const client = usePresenceClient();
  return client?.messenger ?? null;
}

export function ChatDock({
  actions,
  names = {},
  unread,
  maxWindows = 3,
  children,
}: {
  actions: ChatActions;
  names?: Record<string, string>;
  /** Unread messages per peer kept by the server, rendered with the page (absent: counts start at 0). */
  unread?: Record<string, number>;
  maxWindows?: number;
  children: ReactNode;
}) {
  const messenger = useMessenger();
  const snapshot = useSyncExternalStore(messenger?.subscribe ?? noop, messenger?.getSnapshot ?? (() => EMPTY), () => EMPTY);
  const [windows, setWindows] = useState<OpenWindow[]>([]);
  const loaded = useRef(new Set<string>());

  /** Open (or expand) `peer`'s window; `minimised` for one an arriving message opens: it stays unread until expanded. */
  const show = useCallback(
    (peer: string, name: string | undefined, minimised: boolean) => {
      setWindows((ws) => {
        const existing = ws.find((w) => w.peer === peer);
        // a row that opens an existing window also names it (one opened by a message may show the address)
        if (existing) return minimised ? ws : ws.map((w) => (w.peer === peer ? { ...w, minimised: false, name: name ?? w.name } : w));
        return [...ws, { peer, name: name ?? names[peer] ?? peer.replace(/^sips?:/, ""), minimised }].slice(-maxWindows);
      });
    },
    [names, maxWindows],
  );
  const open = useCallback((peer: string, name?: string) => show(peer, name, false), [show]);

  // unread counts kept by the server, rendered with the page (no request of their own while the
  // page signs in), once the tab's messenger exists
  useEffect(() => {
    if (messenger && unread) messenger.setUnreadCounts(unread);
  }, [messenger, unread]);

  // desktop notification for a message nobody is looking at
  const { notify } = useDesktopNotifications();
  const windowsNow = useRef(windows);
  windowsNow.current = windows;
  useEffect(() => {
    if (!messenger) return;
    return messenger.onIncoming((peer, m) => {
      const w = windowsNow.current.find((x) => x.peer === peer);
      if (w && !w.minimised && document.visibilityState === "visible") return;
      const name = w?.name ?? names[peer] ?? peer.replace(/^sips?:/, "");
      notify(`Message from ${name}`, m.text, `im:${peer}`, () => show(peer, name, false));
    });
  }, [messenger, names, notify, show]);

  // an arriving message opens its conversation, minimised
  const counts = Object.values(snapshot.conversations)
    .map((c) => `${c.peer}:${c.messages.length}:${c.unread}`)
    .join("|");
  useEffect(() => {
    for (const c of Object.values(snapshot.conversations)) {
      if (c.unread > 0 && !windows.some((w) => w.peer === c.peer)) show(c.peer, undefined, true);
    }
    // counts summarises what matters in the snapshot
  }, [counts]);

  // history once per conversation and page load
  useEffect(() => {
    if (!messenger) return;
    for (const w of windows) {
      if (loaded.current.has(w.peer)) continue;
      loaded.current.add(w.peer);
      void actions.loadConversation(w.peer).then(
        (r) => {
          if (r.ok) messenger.loadHistory(w.peer, r.data);
          else loaded.current.delete(w.peer);
        },
        () => loaded.current.delete(w.peer),
      );
    }
  }, [windows, messenger, actions]);


  const value = useMemo(() => ({ open, snapshot }), [open, snapshot]);
  return (
    <ChatContext.Provider value={value}>
      {children}
      {messenger && windows.length > 0 ? (
        <div aria-label="Conversations" role="region" data-testid="chat-dock" className="pointer-events-none fixed bottom-0 left-2 right-2 z-40 flex flex-wrap-reverse items-end justify-end gap-2 sm:left-auto sm:right-4 sm:gap-3">
          {windows.map((w) => (
            <ChatWindow
              key={w.peer}
              peer={w.peer}
              name={w.name}
              minimised={w.minimised}
              conversation={snapshot.conversations[w.peer]}
              messenger={messenger}
              onToggle={() => setWindows((ws) => ws.map((x) => (x.peer === w.peer ? { ...x, minimised: !x.minimised } : x)))}
              onClose={() => setWindows((ws) => ws.filter((x) => x.peer !== w.peer))}
              onRead={actions.markRead ? () => void actions.markRead?.(w.peer).catch(() => undefined) : undefined}
            />
          ))}
        </div>
      ) : null}
    </ChatContext.Provider>
  );
}
