// Prisma CLI configuration. Herald applies migrations itself with Prisma's WebAssembly schema
// engine (lib/migrations.ts), so the CLI is only used for `prisma generate`.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});
