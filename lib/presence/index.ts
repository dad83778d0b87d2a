/**
 * lib/presence — framework-free presence payload models shared by the embedded presence server
 * (Node) and the browser client. No Node-only modules, no Next/React/Prisma.
 */
export * from "./errors";
export * from "./namespaces";
export * from "./presence-document";
export * from "./pidf-parser";
export * from "./pidf-composer";
export * from "./pidf-manipulation";
export * from "./presence-summary";
export * from "./presence-composition";
export * from "./pres-rules";
export * from "./pres-rules-evaluation";
export * from "./pres-rules-transformations";
export * from "./watcher-rules";
export * from "./external-list-anchor";
export * from "./watcher-info";
export * from "./watcher-info-composer";
export * from "./watcher-info-parser";
export * from "./rlmi";
export * from "./rlmi-composer";
export * from "./rlmi-parser";
export * from "./media-type";
export * from "./multipart-related";
export * from "./multipart-composer";
export * from "./multipart-parser";
export * from "./icon-hash";
export * from "./sha1";
