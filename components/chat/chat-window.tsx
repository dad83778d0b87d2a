"use client";
/** One docked conversation: header with typing indicator and unread count, messages with their state (retry on failure), a composer. */
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import type { ChatMessage, Conversation, InstantMessenger } from "@/lib/client";
import { btn, field, focusRing } from "../ui/styles";

const STATE_LABEL: Record<string, string> = { sending: "Sending…", sent: "Sent (stored until they sign in)", delivered: "Delivered", failed: "Not sent", elsewhere: "Sent from another device" };

/** "Not sent (403)", or "Not delivered (failed)" when a delivery notification reported it (RFC 5438). */
function failureLabel(m: ChatMessage): string {
  if (m.failedNotice) return `Not delivered (${m.failedNotice})`;
  return m.failedStatus ? `Not sent (${m.failedStatus})` : STATE_LABEL.failed;
}

function time(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function Message({ m, onRetry }: { m: ChatMessage; onRetry: () => void }) {
  const out = m.direction === "out";
  return (
    <li data-testid="chat-message" data-direction={m.direction} data-state={m.state ?? "received"} className={`flex ${out ? "justify-end" : "justify-start"}`}>
      <div className={`max-w-[80%] rounded-lg px-2.5 py-1.5 text-sm ${out ? "bg-blue-700 text-white" : "bg-slate-100 text-slate-900"}`}>
        <p className="whitespace-pre-wrap break-words" data-testid="chat-text">
          {m.text}
        </p>
        <p className={`mt-0.5 text-[11px] ${out ? "text-blue-100" : "text-slate-600"}`}>
          {time(m.date)}
          {out && m.state ? <span data-testid="chat-state"> · {m.state === "failed" ? failureLabel(m) : STATE_LABEL[m.state]}</span> : null}
          {out && m.state === "failed" ? (
            <button type="button" onClick={onRetry} className="ml-1 underline">
              Retry
            </button>
          ) : null}
        </p>
      </div>
    </li>
  );
}

export interface ChatWindowProps {
  peer: string;
  name: string;
  minimised: boolean;
  conversation: Conversation | undefined;
  messenger: InstantMessenger;
  onToggle: () => void;
  onClose: () => void;
  /** The user sees the conversation (expanded; called again as messages arrive in it). */
  onRead?: () => void;
}

export function ChatWindow({ peer, name, minimised, conversation, messenger, onToggle, onClose, onRead }: ChatWindowProps) {
  const titleId = useId();
  const [text, setText] = useState("");
  const list = useRef<HTMLOListElement>(null);
  const messages = conversation?.messages ?? [];
  const unread = conversation?.unread ?? 0;

  // an open, expanded window is read; minimised or closed it counts unread again
  useEffect(() => {
    messenger.setReading(peer, !minimised);
    return () => messenger.setReading(peer, false);
  }, [messenger, peer, minimised]);

  useEffect(() => {
    list.current?.scrollTo({ top: list.current.scrollHeight });
  }, [messages.length, minimised]);

  // the server's read marker follows what this expanded window shows (unread counts after a reload)
  const incoming = messages.filter((m) => m.direction === "in").length;
  const readRef = useRef(onRead);
  readRef.current = onRead;
  useEffect(() => {
    if (!minimised && incoming > 0) readRef.current?.();
  }, [minimised, incoming]);

  function submit(e: FormEvent) {
    e.preventDefault();
    const t = text.trim();
    if (!t) return;
    setText("");
    void messenger.send(peer, t);
  }

  return (
    <section aria-labelledby={titleId} data-testid={`chat-window-${peer}`} className="pointer-events-auto flex w-72 max-w-full flex-col rounded-t-lg border border-b-0 border-slate-300 bg-white shadow-lg">
      <header className="flex items-center gap-2 rounded-t-lg bg-slate-800 px-3 py-2 text-white">
        <button type="button" onClick={onToggle} aria-expanded={!minimised} className="min-w-0 flex-1 truncate text-left text-sm font-medium">
          <span id={titleId}>{name}</span>
          {unread > 0 ? (
            <span data-testid="chat-unread" className="ml-2 rounded-full bg-red-600 px-1.5 text-xs">
              {unread}
              <span className="sr-only"> unread</span>
            </span>
          ) : null}
        </button>
        <button type="button" onClick={onClose} className="rounded px-1 text-sm hover:bg-slate-700" aria-label={`Close conversation with ${name}`}>
          ×
        </button>
      </header>
      {minimised ? null : (
        <>
          {/* focusable: the list scrolls, and keyboard users must be able to scroll it (axe scrollable-region-focusable) */}
          <ol ref={list} tabIndex={0} aria-label={`Messages with ${name}`} aria-live="polite" className={`flex h-64 flex-col gap-1.5 overflow-y-auto p-2 ${focusRing}`} data-testid="chat-messages">
            {messages.map((m) => (
              <Message key={m.id} m={m} onRetry={() => void messenger.retry(peer, m.id)} />
            ))}
          </ol>
          <p data-testid="chat-typing" aria-live="polite" className="h-4 px-3 text-xs italic text-slate-600">
            {conversation?.typing ? `${name} is typing…` : ""}
          </p>
          <form onSubmit={submit} className="flex gap-1.5 border-t border-slate-200 p-2">
            <label className="sr-only" htmlFor={`${titleId}-input`}>
              Message to {name}
            </label>
            <input
              id={`${titleId}-input`}
              data-testid="chat-input"
              className={`${field} mt-0`}
              value={text}
              autoComplete="off"
              maxLength={4000}
              onChange={(e) => {
                setText(e.target.value);
                messenger.composing(peer, e.target.value ? "active" : "idle");
              }}
            />
            <button type="submit" className={btn.primary} disabled={!text.trim()}>
              Send
            </button>
          </form>
        </>
      )}
    </section>
  );
}
