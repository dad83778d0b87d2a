/**
 * Starts the whole system for the e2e tests: a fresh build, a fresh SQLite database with the demo
 * accounts, and `herald start` (embedded SIP and XCAP servers) as a child process on free ports.
 */
import { existsSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { seedDemo } from "../../lib/cli/seed";
import { CHROMIUM_PATH } from "./browser";
import { buildPortal, startHerald } from "../helpers/herald-process";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    users: Record<string, { address: string; password: string }>;
    sipPort: number;
    dataDir: string;
  }
}

export default async function setup(project: TestProject) {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is missing at ${CHROMIUM_PATH}: install Debian's package "chromium" (apt-get install chromium)`);
  }
  buildPortal();
  const users: Record<string, { address: string; password: string }> = {};
  const herald = await startHerald({
    seed: async (db) => {
      for (const s of await seedDemo(db)) users[s.address.split("@")[0]] = { address: s.address, password: s.password };
    },
  });
  project.provide("baseUrl", herald.baseUrl);
  project.provide("users", users);
  project.provide("sipPort", herald.sipPort);
  project.provide("dataDir", herald.dataDir);
  return () => herald.stop();
}
