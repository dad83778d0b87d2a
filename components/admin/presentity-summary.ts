/** Who may watch a virtual presentity, in a few words (list and page). */
export function watchersText(w: { domains: string[]; addresses: string[] }): string {
  const parts = [...w.domains.map((d) => `users of ${d}`), ...w.addresses];
  return parts.length ? parts.join(", ") : "nobody";
}
