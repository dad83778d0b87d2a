/** Blink-compatible address book on XCAP: model, parsing, normalizer, pure edits, service. */
export * from "./model";
export * from "./documents";
export * from "./edits";
export * from "./address-book";
export * from "./identity-rules";
