import { provisioningApi } from "@/lib/portal/api";

export const dynamic = "force-dynamic";

const handle = (req: Request) => provisioningApi().handle(req);

export { handle as GET, handle as POST, handle as PUT, handle as PATCH, handle as DELETE, handle as HEAD, handle as OPTIONS };
