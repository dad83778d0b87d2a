/** Instant-message payloads and policy (framework-free; shared by server and browser). */
export * from "./errors";
export * from "./cpim";
export * from "./is-composing";
export * from "./imdn";
export * from "./im-rules";
export * from "./im-policy";
