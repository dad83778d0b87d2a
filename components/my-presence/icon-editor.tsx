"use client";
/** The status icon (OMA pres-content): upload, preview, remove; the published URL is hash-tagged. */
import { useId, useRef, useState, type FormEvent } from "react";
import type { ActionResult } from "@/lib/portal/wire-types";
import { useSyncedState } from "@/lib/client/use-synced-state";
import { iconUrlWithHash } from "@/lib/presence/icon-hash";
import { ContactIcon, publishableIconUrl, type XcapLocation } from "../presence/contact-icon";
import { usePresenceClient } from "../presence/presence-client-context";
import { btn, label } from "../ui/styles";

export interface IconActions {
  uploadIcon: (form: FormData) => Promise<ActionResult<{ url: string; mimeType: string }>>;
  deleteIcon: () => Promise<ActionResult<null>>;
}

function readAsDataUrl(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error ?? new Error("cannot read the file"));
    r.readAsDataURL(file);
  });
}

export function IconEditor({ name, initial, xcap, actions, maxBytes }: { name: string; initial: string | null; xcap: XcapLocation; actions: IconActions; maxBytes: number }) {
  const client = usePresenceClient();
  const inputId = useId();
  const hintId = useId();
  const fileRef = useRef<HTMLInputElement>(null);
  const [preview, setPreview] = useSyncedState<string | null>(initial);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(null);

  async function upload(e: FormEvent) {
    e.preventDefault();
    const file = fileRef.current?.files?.[0];
    if (!file) {
      setMessage({ kind: "error", text: "Choose a picture first." });
      return;
    }
    if (file.size > maxBytes) {
      setMessage({ kind: "error", text: `The picture is larger than ${Math.round(maxBytes / 1024)} KiB.` });
      return;
    }
    setBusy(true);
    setMessage({ kind: "ok", text: "Uploading…" });
    const before = preview;
    try {
      const [dataUrl, bytes] = await Promise.all([readAsDataUrl(file), file.arrayBuffer()]);
      const form = new FormData();
      form.set("icon", file);
      const r = await actions.uploadIcon(form);
      if (!r.ok) {
        setPreview(before);
        setMessage({ kind: "error", text: r.error });
        return;
      }
      setPreview(dataUrl);
      await client?.setIcon(iconUrlWithHash(publishableIconUrl(r.data.url, xcap), new Uint8Array(bytes)));
      setMessage({ kind: "ok", text: "Picture saved. Your contacts see it with your status." });
      if (fileRef.current) fileRef.current.value = "";
    } catch {
      setPreview(before);
      setMessage({ kind: "error", text: "Herald could not be reached. Try again." });
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    setBusy(true);
    setMessage({ kind: "ok", text: "Removing…" });
    try {
      const r = await actions.deleteIcon();
      if (!r.ok) {
        setMessage({ kind: "error", text: r.error });
        return;
      }
      setPreview(null);
      await client?.setIcon(undefined);
      setMessage({ kind: "ok", text: "Picture removed." });
    } catch {
      setMessage({ kind: "error", text: "Herald could not be reached. Try again." });
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="flex flex-wrap items-start gap-4">
      <div data-testid="icon-preview" data-has-icon={preview ? "true" : "false"}>
        <ContactIcon name={name} xcap={xcap} src={preview} size={72} />
      </div>
      <form onSubmit={upload} className="min-w-[14rem] flex-1 space-y-2">
        <label htmlFor={inputId} className={label}>
          Picture
        </label>
        <input
          id={inputId}
          ref={fileRef}
          type="file"
          name="icon"
          accept="image/png,image/jpeg,image/gif"
          aria-describedby={hintId}
          className="block w-full text-sm text-slate-800 file:mr-3 file:rounded-md file:border file:border-slate-300 file:bg-white file:px-3 file:py-1.5 file:text-sm file:font-medium file:text-slate-800 hover:file:bg-slate-50"
        />
        <p id={hintId} className="text-xs text-slate-600">
          PNG, JPEG or GIF, at most {Math.round(maxBytes / 1024)} KiB.
        </p>
        <div className="flex gap-2">
          <button type="submit" className={btn.primary} disabled={busy}>
            Upload picture
          </button>
          {preview ? (
            <button type="button" className={btn.secondary} disabled={busy} onClick={() => void remove()}>
              Remove picture
            </button>
          ) : null}
        </div>
        <p role={message?.kind === "error" ? "alert" : "status"} data-testid="icon-status" className={`text-sm ${message?.kind === "error" ? "text-red-800" : "text-slate-700"}`}>
          {message?.text ?? ""}
        </p>
      </form>
    </div>
  );
}
