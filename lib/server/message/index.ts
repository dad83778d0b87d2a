export * from "./instant-messaging";
export * from "./im-authorizer";
export * from "./message-store";
