/** Previous / next page links with the position, for server-side paging. */
import Link from "next/link";
import { link } from "./styles";

export function Pager({ page, pages, href, label }: { page: number; pages: number; href: (page: number) => string; label: string }) {
  if (pages <= 1) return null;
  return (
    <nav aria-label={label} className="mt-3 flex items-center gap-4 text-sm">
      {page > 1 ? (
        <Link href={href(page - 1)} prefetch={false} className={link} rel="prev">
          ← Previous
        </Link>
      ) : null}
      <span>
        Page {page} of {pages}
      </span>
      {page < pages ? (
        <Link href={href(page + 1)} prefetch={false} className={link} rel="next">
          Next →
        </Link>
      ) : null}
    </nav>
  );
}
