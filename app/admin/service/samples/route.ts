import { serviceSamplesResponse } from "@/lib/portal/admin";

export const dynamic = "force-dynamic";

export const GET = () => serviceSamplesResponse();
