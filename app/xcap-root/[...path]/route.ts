import { xcapHttp } from "@/lib/portal/xcap";

export const dynamic = "force-dynamic";

const handle = (req: Request) => xcapHttp().handle(req);

export { handle as GET, handle as PUT, handle as DELETE, handle as HEAD, handle as POST, handle as PATCH, handle as OPTIONS };
