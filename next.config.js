/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // native or engine-loading packages stay outside the server bundle
  serverExternalPackages: ["better-sqlite3", "@prisma/adapter-better-sqlite3", "@prisma/adapter-pg", "pg", "ws"],
  experimental: { authInterrupts: true },
  // types are checked by `npm test` (tsc over the whole repository), not again by every build
  typescript: { ignoreBuildErrors: true },
};

export default nextConfig;
