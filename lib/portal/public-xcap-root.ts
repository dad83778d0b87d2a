/** The public XCAP root: what is written into documents and what Blink clients are configured with. */
import type { HeraldConfig } from "../config";

export function publicXcapRootOf(c: Pick<HeraldConfig, "XCAP_SERVER_URL" | "PUBLIC_URL" | "PORT" | "XCAP_ROOT_PATH">): string {
  if (c.XCAP_SERVER_URL) return c.XCAP_SERVER_URL.replace(/\/+$/, "");
  const base = c.PUBLIC_URL ?? `http://localhost:${c.PORT}`;
  return `${base.replace(/\/+$/, "")}${c.XCAP_ROOT_PATH}`;
}
